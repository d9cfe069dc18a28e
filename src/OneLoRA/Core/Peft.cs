using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using OneLoRA.Targeting;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Attaches adapters to given layers of a model. Generated <c>AttachAdapters</c> and runtime attach both end
/// here; all the wiring (freezing, registration, hooks, lookup) lives in this one place.
/// </summary>
public static class Peft
{
    private static readonly ConditionalWeakTable<Linear, LayerSlot> SlotOf = new();
    private static readonly ConditionalWeakTable<nn.Module, PeftAdapterSet> SetOf = new();

    /// <summary>
    /// Freezes every parameter of <paramref name="root"/>, creates one adapter per target layer with
    /// <paramref name="method"/>, registers each adapter as a submodule of its layer (so it appears in
    /// <c>named_parameters()</c>/<c>state_dict()</c> beside the layer, e.g. <c>blocks.0.fc1_onelora.b</c>), installs a
    /// forward hook so <c>layer.call(x)</c> goes through the adapter, and unfreezes what the method trains. A root that is a
    /// <c>Sequential</c> or a bare <c>Linear</c> cannot list or convert adapters; it is wrapped in a <see cref="PeftRoot"/>
    /// (the attachment's <see cref="PeftAttachment.Host"/>), which holds them.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model already has adapters, or a layer is listed twice or already adapted.</exception>
    public static PeftAttachment Attach(nn.Module root, IReadOnlyList<TargetLayer> layers, IPeftMethod method) =>
        AttachNamed(root, layers, method, AdapterFiles.DefaultAdapterName);

    /// <summary><see cref="Attach(nn.Module, IReadOnlyList{TargetLayer}, IPeftMethod)"/> with the first adapter named <paramref name="adapterName"/>.</summary>
    internal static PeftAttachment AttachNamed(nn.Module root, IReadOnlyList<TargetLayer> layers, IPeftMethod method, string adapterName)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(method);
        TorchRuntime.EnsureLoaded();
        PeftAdapterSet.CheckName(adapterName);

        if (SetOf.TryGetValue(root, out var existing) || (root is PeftRoot wrapped && SetOf.TryGetValue(wrapped.Model, out existing)))
            throw new InvalidOperationException(
                $"{root.GetType().Name} already has {existing.Current.Method.Name} adapters attached; attach once per model instance (add more with AddAdapter).");
        CheckLayers(layers, null);

        // Sequential and Linear can neither list nor convert an adapter registered on them: a PeftRoot hosts them.
        nn.Module host = root switch
        {
            Sequential sequential => new PeftRoot(sequential),
            Linear linear when layers.Count == 1 && ReferenceEquals(layers[0].Layer, linear) => new PeftRoot(linear, layers[0].Path),
            Linear => throw new InvalidOperationException("A bare Linear root can only adapt itself: list it as the one layer, e.g. [new(\"fc\", layer)]."),
            _ => root,
        };

        foreach (var p in root.parameters()) p.requires_grad = false;

        var set = new PeftAdapterSet(root, host);
        var attachment = CreateAttachment(set, adapterName, layers, method, allowExtras: true);
        set.AddFirst(attachment);
        SetOf.Add(root, set);
        if (!ReferenceEquals(host, root)) SetOf.Add(host, set);
        return attachment;
    }

    /// <summary>Refuses a layer listed twice, or one that carries an adapter of another model than <paramref name="set"/>'s.</summary>
    internal static void CheckLayers(IReadOnlyList<TargetLayer> layers, PeftAdapterSet? set)
    {
        var duplicate = layers.GroupBy(l => l.Layer).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException(
                $"Layer listed twice for adaptation: {string.Join(", ", duplicate.Select(l => $"'{l.Path}'"))}.");
        foreach (var l in layers)
            if (SlotOf.TryGetValue(l.Layer, out var slot) && !ReferenceEquals(slot.Set, set))
                throw new InvalidOperationException($"Layer '{l.Path}' already carries an adapter (at '{slot.Adapters[0].Path}').");
    }

    /// <summary>
    /// Creates <paramref name="method"/>'s adapters on <paramref name="layers"/>, registers them beside their layers under
    /// <paramref name="adapterName"/>, routes each layer's forward through its <see cref="LayerSlot"/> and unfreezes what the
    /// method trains. Nothing is registered when the method fails to create its adapters.
    /// </summary>
    internal static PeftAttachment CreateAttachment(PeftAdapterSet set, string adapterName, IReadOnlyList<TargetLayer> layers, IPeftMethod method, bool allowExtras)
    {
        var host = set.Host;
        var root = set.Root;
        var adapters = method.CreateAdapters(layers);
        if (adapters.Count != layers.Count)
            throw new InvalidOperationException(
                $"{method.Name} created {adapters.Count} adapters for {layers.Count} layers.");

        var extraRequests = method.ExtraTrainableParameters(host, layers).ToList();
        if (!allowExtras && extraRequests.Count > 0)
            throw new InvalidOperationException(
                $"Adapter '{adapterName}' ({method.Name}) would train '{extraRequests[0].Name}', a parameter of the model itself (norms, biases, modules_to_save): " +
                "with several adapters it would be shared by all of them (PEFT keeps a copy per adapter, this library does not), so AddAdapter refuses it. " +
                "Use a method without TrainNorms/TrainBiases/TrainAllBiases/ModulesToSave for the extra adapters.");

        var modules = host.named_modules().GroupBy(m => m.name).ToDictionary(g => g.Key, g => g.First().module);
        var adapted = new List<AdaptedLayer>(layers.Count);
        for (int i = 0; i < layers.Count; i++)
        {
            var (path, layer) = layers[i];
            var adapter = adapters[i];
            adapter.Path = path;
            var adapterPath = Register(host, modules, path, adapter, adapterName);
            adapted.Add(new AdaptedLayer(path, layer, adapter, adapterPath));
        }
        var registeredNames = PeftAttachment.NamesByHandle(host);
        EnsureVisible(host, adapted, registeredNames);

        var extras = new List<string>();
        foreach (var (name, p) in extraRequests)
        {
            if (!registeredNames.TryGetValue(p.Handle, out var registered))
                throw new InvalidOperationException($"{method.Name} asked to train '{name}', which is not a parameter of {root.GetType().Name}.");
            p.requires_grad = true;
            if (!extras.Contains(registered)) extras.Add(registered);
        }

        var attachment = new PeftAttachment(root, host, method, adapted, extras, adapterName, set);
        foreach (var a in adapted)
        {
            if (!SlotOf.TryGetValue(a.Layer, out var slot))
            {
                slot = new LayerSlot(set);
                var layer = a.Layer;
                var s = slot;
                var remover = host is PeftRoot
                    ? layer.register_forward_hook((_, input, output) => s.Adapt(layer, input, output, root))
                    : layer.register_forward_hook((_, input, output) => s.Adapt(layer, input, output, null));
                slot.RemoveHook = () => remover.remove();
                SlotOf.Add(layer, slot);
                set.Slots[layer] = slot;
            }
            slot.Adapters.Add(a.Adapter);
        }
        return attachment;
    }

    /// <summary>Takes an attachment's adapters off their layers: slots, hooks (when a slot is left empty) and registrations.</summary>
    internal static void Detach(PeftAttachment attachment)
    {
        var host = attachment.Host;
        var modules = host.named_modules().GroupBy(m => m.name).ToDictionary(g => g.Key, g => g.First().module);
        foreach (var a in attachment.Layers)
        {
            if (SlotOf.TryGetValue(a.Layer, out var slot))
            {
                slot.Adapters.Remove(a.Adapter);
                if (slot.Adapters.Count == 0)
                {
                    slot.RemoveHook?.Invoke();
                    SlotOf.Remove(a.Layer);
                    attachment.Set.Slots.Remove(a.Layer);
                }
            }
            int dot = a.AdapterPath.LastIndexOf('.');
            var parent = dot < 0 ? host : modules.GetValueOrDefault(a.AdapterPath[..dot]);
            // TorchSharp's register_module with no module unregisters the name.
            parent?.register_module(dot < 0 ? a.AdapterPath : a.AdapterPath[(dot + 1)..], null!);
        }
    }

    /// <summary>Forgets the model's adapter set (after its last adapter was unloaded).</summary>
    internal static void Forget(PeftAdapterSet set)
    {
        SetOf.Remove(set.Root);
        SetOf.Remove(set.Host);
    }

    /// <summary>
    /// Registers the adapter beside its layer: in the nearest ancestor that lists and converts its children, under
    /// <c>&lt;rest of path&gt;_&lt;adapter&gt;</c> (e.g. <c>blocks.0.fc1_onelora</c>). Not under the Linear itself: TorchSharp's
    /// <c>Linear.to()</c> converts only its weight and bias, and <c>Sequential</c> neither lists nor converts modules
    /// registered on it, so <c>model.to(device)</c> would leave the adapter behind; a root of either kind is wrapped in a
    /// <see cref="PeftRoot"/> first, which is then the host. Returns the adapter's module path.
    /// </summary>
    private static string Register(nn.Module root, Dictionary<string, nn.Module> modules, string path, LinearAdapter adapter, string adapterName)
    {
        var segments = path.Split('.');
        for (int cut = segments.Length - 1; cut >= 0; cut--)
        {
            var hostPath = string.Join('.', segments.Take(cut));
            var host = cut == 0 ? root : modules.GetValueOrDefault(hostPath);
            if (host is null or Linear or Sequential) continue;
            // The default adapter keeps the name it always had; another adapter adds its own name.
            var name = $"{string.Join('_', segments.Skip(cut))}_{adapter.GetName()}" + (adapterName == AdapterFiles.DefaultAdapterName ? "" : "_" + adapterName);
            if (host.named_children().Any(c => c.name == name))
                throw new InvalidOperationException($"Cannot register the adapter of '{path}': '{hostPath}' already has a child named '{name}'.");
            host.register_module(name, adapter);
            return hostPath.Length == 0 ? name : $"{hostPath}.{name}";
        }
        throw new InvalidOperationException($"No module can hold the adapter of '{path}'.");
    }

    /// <summary>
    /// Under a <see cref="PeftRoot"/>, <c>sequential.to(...)</c> moves the layers but not the adapters: say so instead of
    /// failing inside the adapter's math with a dtype or device mismatch.
    /// </summary>
    internal static void CheckFollowed(nn.Module root, Linear layer, LinearAdapter adapter)
    {
        foreach (var p in adapter.parameters())
        {
            if (p.dtype == layer.weight!.dtype && p.device_type == layer.weight.device_type && p.device_index == layer.weight.device_index) return;
            throw new InvalidOperationException(
                $"The {adapter.GetName()} adapter of '{adapter.Path}' is {p.dtype} on {p.device} but its layer is {layer.weight.dtype} on " +
                $"{layer.weight.device}: a {root.GetType().Name} root cannot carry adapters, so they live in the attachment's Host (a PeftRoot). " +
                "Convert with attachment.Host.to(...) instead of the model's own .to().");
        }
    }

    private static void EnsureVisible(nn.Module root, List<AdaptedLayer> adapted, Dictionary<IntPtr, string> registeredNames)
    {
        foreach (var a in adapted)
            foreach (var (name, p) in a.Adapter.named_parameters())
                if (!registeredNames.ContainsKey(p.Handle))
                    throw new InvalidOperationException(
                        $"The {a.Adapter.GetName()} adapter of '{a.Path}' was registered at '{a.AdapterPath}', but its parameter '{name}' " +
                        $"is not listed by {root.GetType().Name}.parameters(); the module at that path does not list registered children.");
    }

    /// <summary>
    /// The attachment of a model, or null when none was attached. With several named adapters: the first active one
    /// (<see cref="PeftAdapterSet.Current"/>).
    /// </summary>
    public static PeftAttachment? AttachmentFor(nn.Module root) =>
        SetOf.TryGetValue(root, out var s) ? s.Current : null;

    /// <summary>The model's named adapters, or null when none was attached.</summary>
    public static PeftAdapterSet? AdapterSetFor(nn.Module root) =>
        SetOf.TryGetValue(root, out var s) ? s : null;

    /// <summary>The adapter on a layer, or null. With several named adapters: the first active one on the layer, else the first.</summary>
    public static LinearAdapter? AdapterFor(Linear layer) =>
        SlotOf.TryGetValue(layer, out var slot) ? slot.Primary : null;

    internal static LayerSlot? SlotFor(Linear layer) =>
        SlotOf.TryGetValue(layer, out var slot) ? slot : null;
}

/// <summary>
/// The adapters on one layer (one per named adapter that targets it) and the dispatch that the layer's forward hook and
/// <see cref="PeftRuntime.Forward"/> both use: the runtime lookup named adapters hook into.
/// </summary>
internal sealed class LayerSlot(PeftAdapterSet set)
{
    public PeftAdapterSet Set { get; } = set;

    public List<LinearAdapter> Adapters { get; } = [];

    public Action? RemoveHook { get; set; }

    /// <summary>The first active adapter, else the first.</summary>
    public LinearAdapter? Primary => Adapters.FirstOrDefault(a => a.InActiveSet) ?? Adapters.FirstOrDefault();

    /// <summary>
    /// The base output <paramref name="y"/> plus every active adapter's change: one active adapter adapts as it always did;
    /// several add their changes <c>Adapt_i(y) − y</c> (for LoRA-type methods, Σ ΔW_i·x, PEFT's rule). Disabled: <paramref name="y"/>.
    /// </summary>
    public Tensor Adapt(Linear layer, Tensor x, Tensor y, nn.Module? checkRoot)
    {
        if (Set.IsDisabled) return y;
        var (first, more) = Active(layer, checkRoot);
        if (first is null) return y;
        if (more is null) return first.Adapt(layer, x, y);
        return Combine(layer, x, y, first, more);
    }

    /// <summary>
    /// The layer's output from its input: the base forward when nothing is active, one active adapter's
    /// <see cref="LinearAdapter.AdaptFromInput"/> (which may compute the base output itself), else the sum of several.
    /// </summary>
    public Tensor Forward(Linear layer, Tensor x)
    {
        if (Set.IsDisabled) return layer.forward(x);
        var (first, more) = Active(layer, null);
        if (first is null) return layer.forward(x);
        if (more is null) return first.AdaptFromInput(layer, x);
        return Combine(layer, x, layer.forward(x), first, more);
    }

    private (LinearAdapter? First, List<LinearAdapter>? More) Active(Linear layer, nn.Module? checkRoot)
    {
        LinearAdapter? first = null;
        List<LinearAdapter>? more = null;
        foreach (var a in Adapters)
        {
            if (!a.InActiveSet || !a.IsActive) continue;
            if (checkRoot is not null) Peft.CheckFollowed(checkRoot, layer, a);
            if (first is null) first = a;
            else (more ??= []).Add(a);
        }
        return (first, more);
    }

    private static Tensor Combine(Linear layer, Tensor x, Tensor y, LinearAdapter first, List<LinearAdapter> more)
    {
        // Adapters may write into the base output (1LoRA's addmm_): each gets its own copy.
        var result = first.Adapt(layer, x, y.clone());
        foreach (var a in more) result = result + (a.Adapt(layer, x, y.clone()) - y);
        return result;
    }
}

/// <summary>Entry points of generated interceptors. Not for direct use.</summary>
public static class PeftRuntime
{
    /// <summary>Replaces <c>layer.forward(x)</c>: base forward plus the adapter's contribution when one is active.</summary>
    public static Tensor Forward(Linear layer, Tensor x)
    {
        var slot = Peft.SlotFor(layer);
        return slot is null ? layer.forward(x) : slot.Forward(layer, x);
    }

    /// <summary>
    /// Replaces generated <c>AttachAdapters(method)</c>'s wiring: the layers the <c>[Peft]</c> attribute selected, less those that
    /// the method's <see cref="PeftOptions.LayersToTransform"/> / <see cref="PeftOptions.LayersPattern"/> leave out and the
    /// <see cref="PeftOptions.ModulesToSave"/> (never adapted), attached by <see cref="Peft.Attach(nn.Module, IReadOnlyList{TargetLayer}, IPeftMethod)"/>;
    /// then the modules to save are trained in full, as runtime attach does. A method that is not a <see cref="PeftMethodBase"/> has
    /// no options: every collected layer is adapted.
    /// </summary>
    /// <exception cref="InvalidOperationException">The options leave no layer to adapt; the message lists the collected ones.</exception>
    public static PeftAttachment Attach(nn.Module model, IEnumerable<TargetLayer> collected, IPeftMethod method)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(collected);
        ArgumentNullException.ThrowIfNull(method);
        var layers = collected.ToList();
        if (method is not PeftMethodBase { Options: var o }) return Peft.Attach(model, layers, method);
        var save = TargetGlob.Split(o.ModulesToSave ?? "");
        var filter = PeftTargets.Create(["*"], false, [], false, save, o.LayersToTransform ?? [], TargetGlob.Split(o.LayersPattern ?? ""));
        var kept = layers.Where(l => filter.Passes(l.Path)).ToList();
        if (kept.Count == 0)
            throw new InvalidOperationException(
                $"{model.GetType().Name}.AttachAdapters: LayersToTransform [{string.Join(", ", o.LayersToTransform ?? [])}]" +
                (string.IsNullOrEmpty(o.LayersPattern) ? "" : $" with LayersPattern '{o.LayersPattern}'") +
                (save.Length == 0 ? "" : $" and ModulesToSave '{o.ModulesToSave}'") +
                $" leave none of the [Peft] layers to adapt: {string.Join(", ", layers.Select(l => l.Path))}.");
        var attachment = Peft.Attach(model, kept, method);
        PeftModel.TrainModulesToSave(attachment, save);
        return attachment;
    }

    /// <summary>
    /// Replaces generated <c>MergeAdapters()</c>/<c>UnmergeAdapters()</c> per layer: merges every active, unmerged adapter of
    /// <paramref name="layer"/> (or unmerges every merged one, last first). False when the layer has no adapter.
    /// </summary>
    public static bool MergeLayer(Linear layer, bool merge)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var slot = Peft.SlotFor(layer);
        if (slot is null) return false;
        if (merge)
        {
            var toMerge = slot.Adapters.Where(a => a.InActiveSet).ToList();
            if (toMerge.Count == 1) toMerge[0].Merge(layer);
            else foreach (var a in toMerge.Where(a => !a.IsMerged)) a.Merge(layer);
        }
        else
        {
            var merged = slot.Adapters.Where(a => a.IsMerged).Reverse().ToList();
            if (merged.Count == 0) slot.Primary!.Unmerge(layer); // says "not merged", as before
            foreach (var a in merged) a.Unmerge(layer);
        }
        return true;
    }

    /// <summary>
    /// Replaces <c>layer.call(x)</c>: runs the layer's hooks in order; the adapter's own forward hook
    /// (installed by attach) adds its contribution, so user hooks see the adapted output.
    /// </summary>
    public static Tensor Call(Linear layer, Tensor x) => layer.call(x);
}

/// <summary>Extensions on any attached model (generated or runtime attach).</summary>
public static class PeftModuleExtensions
{
    /// <summary>The model's attachment.</summary>
    /// <exception cref="InvalidOperationException">No adapters are attached.</exception>
    public static PeftAttachment Adapters(this nn.Module model) =>
        Peft.AttachmentFor(model)
        ?? throw new InvalidOperationException($"{model.GetType().Name} has no adapters attached; call AttachAdapters first.");

    /// <summary>The parameters to hand to the optimizer: the active adapters' (an inactive adapter's are frozen).</summary>
    public static IEnumerable<Parameter> TrainableParameters(this nn.Module model) => model.AdapterSet().TrainableParameters();

    /// <summary>The model's named adapters (PEFT's add_adapter, set_adapter, delete_adapter, …).</summary>
    /// <exception cref="InvalidOperationException">No adapters are attached.</exception>
    public static PeftAdapterSet AdapterSet(this nn.Module model) =>
        Peft.AdapterSetFor(model)
        ?? throw new InvalidOperationException($"{model.GetType().Name} has no adapters attached; call AttachAdapters first.");

    /// <summary>Trainable versus total parameters.</summary>
    public static ParameterReport ParameterReport(this nn.Module model) => model.Adapters().Report();

    /// <summary>PEFT's <c>add_adapter</c>: <see cref="PeftAdapterSet.AddAdapter(string, IPeftMethod)"/> (inactive until SetAdapter).</summary>
    public static PeftAttachment AddAdapter(this nn.Module model, string name, IPeftMethod method) => model.AdapterSet().AddAdapter(name, method);

    /// <summary>PEFT's <c>add_adapter</c> with options: <see cref="PeftAdapterSet.AddAdapter(string, PeftOptions)"/>.</summary>
    public static PeftAttachment AddAdapter(this nn.Module model, string name, PeftOptions options) => model.AdapterSet().AddAdapter(name, options);

    /// <summary>PEFT's <c>set_adapter</c>: <see cref="PeftAdapterSet.SetAdapter(string)"/>.</summary>
    public static void SetAdapter(this nn.Module model, string name) => model.AdapterSet().SetAdapter(name);

    /// <summary>Several active adapters: <see cref="PeftAdapterSet.SetAdapter(IEnumerable{string})"/>.</summary>
    public static void SetAdapter(this nn.Module model, IEnumerable<string> names) => model.AdapterSet().SetAdapter(names);

    /// <summary>PEFT's <c>delete_adapter</c>: <see cref="PeftAdapterSet.DeleteAdapter"/>.</summary>
    public static void DeleteAdapter(this nn.Module model, string name) => model.AdapterSet().DeleteAdapter(name);

    /// <summary>PEFT's <c>disable_adapter()</c>: <c>using (model.DisableAdapters()) { … }</c> computes base outputs inside.</summary>
    public static IDisposable DisableAdapters(this nn.Module model) => model.AdapterSet().DisableAdapters();

    /// <summary>PEFT's <c>merge_and_unload</c>: <see cref="PeftAdapterSet.MergeAndUnload"/>.</summary>
    public static nn.Module MergeAndUnload(this nn.Module model) => model.AdapterSet().MergeAndUnload();

    /// <summary>PEFT's <c>unload</c>: <see cref="PeftAdapterSet.Unload"/>.</summary>
    public static nn.Module Unload(this nn.Module model) => model.AdapterSet().Unload();

    /// <summary>PEFT's <c>add_weighted_adapter</c>: <see cref="PeftAdapterSet.AddWeightedAdapter"/>.</summary>
    public static PeftAttachment AddWeightedAdapter(this nn.Module model, IReadOnlyList<string> adapters, IReadOnlyList<double> weights, string adapterName, string combinationType) =>
        model.AdapterSet().AddWeightedAdapter(adapters, weights, adapterName, combinationType);

    /// <summary>PEFT's <c>load_adapter</c>: <see cref="PeftAdapterSet.LoadAdapter"/>.</summary>
    public static PeftAttachment LoadAdapter(this nn.Module model, string directory, string adapterName, bool isTrainable = false) =>
        model.AdapterSet().LoadAdapter(directory, adapterName, isTrainable);
}
