using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Attaches adapters to given layers of a model. Generated <c>AttachAdapters</c> and runtime attach both end
/// here; all the wiring (freezing, registration, hooks, lookup) lives in this one place.
/// </summary>
public static class Peft
{
    private static readonly ConditionalWeakTable<Linear, LinearAdapter> AdapterOf = new();
    private static readonly ConditionalWeakTable<nn.Module, PeftAttachment> AttachmentOf = new();

    /// <summary>
    /// Freezes every parameter of <paramref name="root"/>, creates one adapter per target layer with
    /// <paramref name="method"/>, registers each adapter as a submodule of its layer (so it appears in
    /// <c>named_parameters()</c>/<c>state_dict()</c> beside the layer, e.g. <c>blocks.0.fc1_onelora.b</c>), installs a
    /// forward hook so <c>layer.call(x)</c> goes through the adapter, and unfreezes what the method trains. A root that is a
    /// <c>Sequential</c> or a bare <c>Linear</c> cannot list or convert adapters; it is wrapped in a <see cref="PeftRoot"/>
    /// (the attachment's <see cref="PeftAttachment.Host"/>), which holds them.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model already has adapters, or a layer is listed twice or already adapted.</exception>
    public static PeftAttachment Attach(nn.Module root, IReadOnlyList<TargetLayer> layers, IPeftMethod method)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(method);
        TorchRuntime.EnsureLoaded();

        if (AttachmentOf.TryGetValue(root, out var existing) || (root is PeftRoot wrapped && AttachmentOf.TryGetValue(wrapped.Model, out existing)))
            throw new InvalidOperationException(
                $"{root.GetType().Name} already has {existing.Method.Name} adapters attached; attach once per model instance.");
        var duplicate = layers.GroupBy(l => l.Layer).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException(
                $"Layer listed twice for adaptation: {string.Join(", ", duplicate.Select(l => $"'{l.Path}'"))}.");
        foreach (var l in layers)
            if (AdapterOf.TryGetValue(l.Layer, out var other))
                throw new InvalidOperationException($"Layer '{l.Path}' already carries an adapter (at '{other.Path}').");

        // Sequential and Linear can neither list nor convert an adapter registered on them: a PeftRoot hosts them.
        nn.Module host = root switch
        {
            Sequential sequential => new PeftRoot(sequential),
            Linear linear when layers.Count == 1 && ReferenceEquals(layers[0].Layer, linear) => new PeftRoot(linear, layers[0].Path),
            Linear => throw new InvalidOperationException("A bare Linear root can only adapt itself: list it as the one layer, e.g. [new(\"fc\", layer)]."),
            _ => root,
        };

        foreach (var p in root.parameters()) p.requires_grad = false;

        var adapters = method.CreateAdapters(layers);
        if (adapters.Count != layers.Count)
            throw new InvalidOperationException(
                $"{method.Name} created {adapters.Count} adapters for {layers.Count} layers.");

        var modules = host.named_modules().GroupBy(m => m.name).ToDictionary(g => g.Key, g => g.First().module);
        var adapted = new List<AdaptedLayer>(layers.Count);
        for (int i = 0; i < layers.Count; i++)
        {
            var (path, layer) = layers[i];
            var adapter = adapters[i];
            adapter.Path = path;
            var adapterPath = Register(host, modules, path, adapter);
            AdapterOf.Add(layer, adapter);
            adapted.Add(new AdaptedLayer(path, layer, adapter, adapterPath));
        }
        var registeredNames = PeftAttachment.NamesByHandle(host);
        EnsureVisible(host, adapted, registeredNames);

        var extras = new List<string>();
        foreach (var (name, p) in method.ExtraTrainableParameters(host, layers))
        {
            if (!registeredNames.TryGetValue(p.Handle, out var registered))
                throw new InvalidOperationException($"{method.Name} asked to train '{name}', which is not a parameter of {root.GetType().Name}.");
            p.requires_grad = true;
            if (!extras.Contains(registered)) extras.Add(registered);
        }

        var attachment = new PeftAttachment(root, host, method, adapted, extras);
        foreach (var a in adapted)
        {
            var adapter = a.Adapter;
            var layer = a.Layer;
            if (host is PeftRoot)
                layer.register_forward_hook((_, input, output) =>
                {
                    if (!adapter.IsActive) return output;
                    CheckFollowed(root, layer, adapter);
                    return adapter.Adapt(layer, input, output);
                });
            else
                layer.register_forward_hook((_, input, output) => adapter.IsActive ? adapter.Adapt(layer, input, output) : output);
        }
        AttachmentOf.Add(root, attachment);
        if (!ReferenceEquals(host, root)) AttachmentOf.Add(host, attachment);
        return attachment;
    }

    /// <summary>
    /// Registers the adapter beside its layer: in the nearest ancestor that lists and converts its children, under
    /// <c>&lt;rest of path&gt;_&lt;adapter&gt;</c> (e.g. <c>blocks.0.fc1_onelora</c>). Not under the Linear itself: TorchSharp's
    /// <c>Linear.to()</c> converts only its weight and bias, and <c>Sequential</c> neither lists nor converts modules
    /// registered on it, so <c>model.to(device)</c> would leave the adapter behind; a root of either kind is wrapped in a
    /// <see cref="PeftRoot"/> first, which is then the host. Returns the adapter's module path.
    /// </summary>
    private static string Register(nn.Module root, Dictionary<string, nn.Module> modules, string path, LinearAdapter adapter)
    {
        var segments = path.Split('.');
        for (int cut = segments.Length - 1; cut >= 0; cut--)
        {
            var hostPath = string.Join('.', segments.Take(cut));
            var host = cut == 0 ? root : modules.GetValueOrDefault(hostPath);
            if (host is null or Linear or Sequential) continue;
            var name = $"{string.Join('_', segments.Skip(cut))}_{adapter.GetName()}";
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
    private static void CheckFollowed(nn.Module root, Linear layer, LinearAdapter adapter)
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

    /// <summary>The attachment of a model, or null when none was attached.</summary>
    public static PeftAttachment? AttachmentFor(nn.Module root) =>
        AttachmentOf.TryGetValue(root, out var a) ? a : null;

    /// <summary>The adapter on a layer, or null.</summary>
    public static LinearAdapter? AdapterFor(Linear layer) =>
        AdapterOf.TryGetValue(layer, out var a) ? a : null;
}

/// <summary>Entry points of generated interceptors. Not for direct use.</summary>
public static class PeftRuntime
{
    /// <summary>Replaces <c>layer.forward(x)</c>: base forward plus the adapter's contribution when one is active.</summary>
    public static Tensor Forward(Linear layer, Tensor x)
    {
        var adapter = Peft.AdapterFor(layer);
        return adapter is { IsActive: true } ? adapter.Forward(layer, x) : layer.forward(x);
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

    /// <summary>The parameters to hand to the optimizer.</summary>
    public static IEnumerable<Parameter> TrainableParameters(this nn.Module model) => model.Adapters().TrainableParameters();

    /// <summary>Trainable versus total parameters.</summary>
    public static ParameterReport ParameterReport(this nn.Module model) => model.Adapters().Report();
}
