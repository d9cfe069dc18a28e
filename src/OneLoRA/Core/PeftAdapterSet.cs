using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using OneLoRA.Methods.LoRA;
using OneLoRA.Serialization;
using OneLoRA.Targeting;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// The named adapters of one model, as HF PEFT manages them: <see cref="AddAdapter(string, IPeftMethod)"/>,
/// <see cref="SetAdapter(string)"/> (one or several active; several add their outputs), <see cref="DeleteAdapter"/>,
/// <see cref="DisableAdapters"/>, <see cref="MergeAndUnload"/>, <see cref="Unload"/>, <see cref="AddWeightedAdapter"/>,
/// per-adapter <see cref="LoadAdapter"/> and <see cref="Save"/>. Each named adapter is one <see cref="PeftAttachment"/>
/// (one method over its layers); the set owns which of them the forward uses. Get it with <c>model.AdapterSet()</c>
/// (or <see cref="PeftAttachment.Set"/>); generated <c>[Peft]</c> models and runtime attach share it, because the
/// generated forward calls the same runtime lookup.
/// </summary>
/// <remarks>
/// The first attach creates the adapter named <c>default</c> (<see cref="AdapterFiles.DefaultAdapterName"/>), active; an added
/// adapter starts inactive, as in PEFT. An inactive adapter's parameters have <c>requires_grad</c> false and no gradient, so
/// <see cref="TrainableParameters"/> (and <c>model.TrainableParameters()</c>) list only the active adapters', and even an
/// optimizer built before the switch leaves the inactive adapter bit-identical (the trap of PEFT issue #3580). Build the
/// optimizer again after <see cref="SetAdapter(string)"/> to train the newly active adapter.
/// Parameters a method trains outside its adapters (norms, biases, modules_to_save) belong to the model, not to an adapter:
/// PEFT keeps a copy per adapter, this library does not, so a model with such parameters holds one adapter only
/// (<see cref="AddAdapter(string, IPeftMethod)"/> refuses the second).
/// </remarks>
public sealed class PeftAdapterSet
{
    private static readonly Regex NamePattern = new("^[A-Za-z0-9_-]+$", RegexOptions.CultureInvariant);

    private readonly List<PeftAttachment> attachments = [];
    private readonly List<string> active = [];
    private int disabledDepth;

    internal PeftAdapterSet(nn.Module root, nn.Module host)
    {
        Root = root;
        Host = host;
    }

    /// <summary>The model the adapters are attached to.</summary>
    public nn.Module Root { get; }

    /// <summary>The module that lists and converts the model with its adapters (see <see cref="PeftAttachment.Host"/>).</summary>
    public nn.Module Host { get; }

    internal Dictionary<Linear, LayerSlot> Slots { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Every adapter's name, in the order they were added.</summary>
    public IReadOnlyList<string> Names => attachments.Select(a => a.Name).ToList();

    /// <summary>The active adapters' names (PEFT's <c>active_adapters</c>), in the order <see cref="SetAdapter(IEnumerable{string})"/> gave.</summary>
    public IReadOnlyList<string> ActiveAdapters => active.ToList();

    /// <summary>The first active adapter (PEFT's <c>active_adapter</c>): what <c>model.Adapters()</c> returns.</summary>
    public PeftAttachment Current =>
        active.Count > 0 ? this[active[0]] : attachments.FirstOrDefault()
        ?? throw new InvalidOperationException($"{Root.GetType().Name} has no adapters left.");

    /// <summary>Every named adapter, in the order they were added.</summary>
    public IReadOnlyList<PeftAttachment> All => attachments.ToList();

    /// <summary>True inside <see cref="DisableAdapters"/>: the model computes its base outputs.</summary>
    public bool IsDisabled => disabledDepth > 0;

    /// <summary>The adapter named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No adapter has that name; the message lists the names.</exception>
    public PeftAttachment this[string name] =>
        attachments.FirstOrDefault(a => a.Name == name)
        ?? throw new ArgumentException($"No adapter named '{name}'; the model's adapters are: {string.Join(", ", attachments.Select(a => $"'{a.Name}'"))}.", nameof(name));

    /// <summary>True when an adapter has that name.</summary>
    public bool Contains(string name) => attachments.Any(a => a.Name == name);

    /// <summary>Refuses an adapter name that is not letters, digits, '_' or '-' (it names a module and a folder).</summary>
    /// <exception cref="ArgumentException">The name is empty or holds another character.</exception>
    public static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || !NamePattern.IsMatch(name))
            throw new ArgumentException($"Adapter name '{name}' must be letters, digits, '_' or '-' (it names a submodule and a folder).", nameof(name));
    }

    internal void AddFirst(PeftAttachment attachment)
    {
        attachments.Add(attachment);
        active.Add(attachment.Name);
    }

    /// <summary>
    /// PEFT's <c>add_adapter</c>: adds <paramref name="method"/>'s adapters under <paramref name="name"/> on the layers of the first
    /// adapter (for a generated model, the <c>[Peft]</c> layers). The new adapter is inactive until <see cref="SetAdapter(string)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken or malformed.</exception>
    /// <exception cref="InvalidOperationException">The method, or an existing adapter, trains parameters of the model itself.</exception>
    public PeftAttachment AddAdapter(string name, IPeftMethod method) =>
        AddAdapter(name, method, FirstLayers());

    /// <summary>
    /// <see cref="AddAdapter(string, IPeftMethod)"/> with the method and targets from <paramref name="options"/>: the layers
    /// <see cref="PeftModel.Select(nn.Module, PeftOptions)"/> picks on <see cref="Root"/> (Targets, Exclude, all-linear, regex:,
    /// LayersToTransform). ModulesToSave is refused (see the remarks of <see cref="PeftAdapterSet"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">No Linear layer matched.</exception>
    public PeftAttachment AddAdapter(string name, PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var method = PeftMethods.Create(options);
        var selection = PeftModel.Select(Root, options);
        if (selection.Layers.Count == 0)
            throw new InvalidOperationException(
                $"AddAdapter('{name}'): Targets '{selection.Targets}' selected no Linear layer of {Root.GetType().Name}. Linear layers: {string.Join(", ", selection.LinearPaths)}.");
        return AddAdapter(name, method, selection.Layers);
    }

    /// <summary><see cref="AddAdapter(string, IPeftMethod)"/> on the given layers of <see cref="Root"/>.</summary>
    public PeftAttachment AddAdapter(string name, IPeftMethod method, IReadOnlyList<TargetLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(layers);
        CheckAttached();
        CheckName(name);
        if (Contains(name))
            throw new ArgumentException($"An adapter named '{name}' already exists; the model's adapters are: {string.Join(", ", attachments.Select(a => $"'{a.Name}'"))}.", nameof(name));
        if (layers.Count == 0) throw new ArgumentException($"AddAdapter('{name}'): no layer given.", nameof(layers));
        var withExtras = attachments.FirstOrDefault(a => a.ExtraTrainable.Count > 0);
        if (withExtras is not null)
            throw new InvalidOperationException(
                $"Cannot add adapter '{name}': adapter '{withExtras.Name}' trains '{withExtras.ExtraTrainable[0].Name}', a parameter of the model itself, " +
                "which every adapter would share (PEFT keeps a copy per adapter, this library does not).");
        Peft.CheckLayers(layers, this);
        var attachment = Peft.CreateAttachment(this, name, layers, method, allowExtras: false);
        attachments.Add(attachment);
        Deactivate(attachment);
        return attachment;
    }

    private List<TargetLayer> FirstLayers()
    {
        CheckAttached();
        return attachments[0].Layers.Select(l => new TargetLayer(l.Path, l.Layer)).ToList();
    }

    /// <summary>PEFT's <c>set_adapter</c>: makes <paramref name="name"/> the one active adapter.</summary>
    /// <exception cref="ArgumentException">No adapter has that name.</exception>
    /// <exception cref="InvalidOperationException">An adapter is merged (unmerge before switching).</exception>
    public void SetAdapter(string name) => SetAdapter([name]);

    /// <summary>
    /// Makes the named adapters active together: each layer's output is its base output plus every active adapter's change
    /// (for LoRA-type methods Σ ΔW_i·x). The others are frozen and their gradients dropped; the active ones train again
    /// whatever they trained before they were deactivated.
    /// </summary>
    /// <exception cref="ArgumentException">No name, a name twice, or an unknown name.</exception>
    /// <exception cref="InvalidOperationException">An adapter is merged (unmerge before switching).</exception>
    public void SetAdapter(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        CheckAttached();
        var list = names.ToList();
        if (list.Count == 0) throw new ArgumentException("SetAdapter needs at least one adapter name.", nameof(names));
        var twice = list.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new ArgumentException($"Adapter '{twice.Key}' is named twice.", nameof(names));
        foreach (var n in list) _ = this[n];
        if (list.SequenceEqual(active)) return;
        var merged = attachments.FirstOrDefault(a => a.Layers.Any(l => l.Adapter.IsMerged));
        if (merged is not null)
            throw new InvalidOperationException(
                $"Adapter '{merged.Name}' is merged into the weights; call Unmerge() on it before switching adapters (nothing was changed).");
        foreach (var a in attachments)
        {
            bool now = list.Contains(a.Name);
            bool was = active.Contains(a.Name);
            if (was && !now) Deactivate(a);
            else if (now && !was) Activate(a);
        }
        active.Clear();
        active.AddRange(list);
    }

    private static void Deactivate(PeftAttachment a)
    {
        foreach (var l in a.Layers) l.Adapter.InActiveSet = false;
        foreach (var (name, p) in a.NamedAdapterParameters())
        {
            if (!p.requires_grad) continue;
            a.Suspended.Add(name);
            p.requires_grad = false;
            // No gradient left: an optimizer that still holds the parameter skips it (PEFT issue #3580).
            p.grad = null;
        }
    }

    private void Activate(PeftAttachment a)
    {
        foreach (var l in a.Layers) l.Adapter.InActiveSet = true;
        var byName = PeftAttachment.ParametersByName(Host);
        foreach (var name in a.Suspended)
            if (byName.TryGetValue(name, out var p)) p.requires_grad = true;
        a.Suspended.Clear();
    }

    /// <summary>The active adapters' trainable parameters, each once: hand these to the optimizer.</summary>
    public IEnumerable<Parameter> TrainableParameters()
    {
        var seen = new HashSet<IntPtr>();
        foreach (var name in active.ToList())
            foreach (var p in this[name].TrainableParameters())
                if (seen.Add(p.Handle)) yield return p;
    }

    /// <summary>
    /// PEFT's <c>delete_adapter</c>: removes the adapter and its modules. Deleting an active adapter leaves the other active
    /// ones; when none is left the first remaining adapter becomes active.
    /// </summary>
    /// <exception cref="ArgumentException">No adapter has that name.</exception>
    /// <exception cref="InvalidOperationException">It is the only adapter (use <see cref="Unload"/>), or it is merged.</exception>
    public void DeleteAdapter(string name)
    {
        CheckAttached();
        var a = this[name];
        if (attachments.Count == 1)
            throw new InvalidOperationException($"Cannot delete adapter '{name}': it is the model's only adapter; Unload() or MergeAndUnload() removes it.");
        if (a.Layers.Any(l => l.Adapter.IsMerged))
            throw new InvalidOperationException($"Cannot delete adapter '{name}': it is merged into the weights; call Unmerge() on it first.");
        Peft.Detach(a);
        a.IsAttached = false;
        attachments.Remove(a);
        if (active.Remove(name) && active.Count == 0)
        {
            Activate(attachments[0]);
            active.Add(attachments[0].Name);
        }
    }

    /// <summary>
    /// PEFT's <c>disable_adapter()</c> context: inside the <c>using</c> block the model computes its base outputs (merged
    /// adapters are unmerged for the block, up to rounding, and merged again after); disposing restores the adapters, also
    /// when the block throws. Blocks nest.
    /// </summary>
    /// <exception cref="InvalidOperationException">An adapter is merged on some layers only.</exception>
    public IDisposable DisableAdapters()
    {
        CheckAttached();
        var partial = attachments.FirstOrDefault(a => a.Layers.Any(l => l.Adapter.IsMerged) && !a.IsMerged);
        if (partial is not null)
            throw new InvalidOperationException($"Adapter '{partial.Name}' is merged on some layers only; merge or unmerge it fully before DisableAdapters().");
        var merged = attachments.Where(a => a.IsMerged).ToList();
        for (int i = merged.Count - 1; i >= 0; i--) merged[i].Unmerge();
        disabledDepth++;
        return new Restore(() =>
        {
            disabledDepth--;
            foreach (var a in merged) if (a.IsAttached) a.Merge();
        });
    }

    private sealed class Restore(Action action) : IDisposable
    {
        private Action? pending = action;

        public void Dispose()
        {
            var a = pending;
            pending = null;
            a?.Invoke();
        }
    }

    /// <summary>
    /// PEFT's <c>merge_and_unload</c>: merges the active adapters into the weights (all or nothing: a failure restores every
    /// weight bit for bit), then removes every adapter and hook. Returns the plain model (<see cref="Root"/>): its forward
    /// equals the merged model's and its <c>named_parameters()</c> hold no adapter key. An inactive adapter that was merged
    /// stays in the weights. Base parameters stay frozen, as PEFT leaves them.
    /// </summary>
    /// <exception cref="AdapterMergeException">An adapter cannot be merged; nothing was changed.</exception>
    public nn.Module MergeAndUnload()
    {
        CheckAttached();
        var toMerge = active.Select(n => this[n]).Where(a => !a.IsMerged).ToList();
        var partial = toMerge.FirstOrDefault(a => a.Layers.Any(l => l.Adapter.IsMerged));
        if (partial is not null)
            throw new InvalidOperationException($"Adapter '{partial.Name}' is merged on some layers only; merge or unmerge it fully first. Nothing was changed.");
        var snapshots = toMerge.SelectMany(a => a.Layers).Select(l => l.Layer).Distinct(ReferenceEqualityComparer.Instance).Cast<Linear>()
            .Select(l => (Layer: l, Before: WeightSnapshot.Take(l))).ToList();
        var done = new List<PeftAttachment>();
        try
        {
            foreach (var a in toMerge)
            {
                a.Merge();
                done.Add(a);
            }
        }
        catch (Exception)
        {
            for (int i = done.Count - 1; i >= 0; i--)
            {
                try { done[i].Unmerge(); } catch (Exception) { /* the weights are restored from the copies below */ }
            }
            foreach (var (layer, before) in snapshots) before.Restore(layer);
            throw;
        }
        finally
        {
            foreach (var (_, before) in snapshots) before.Dispose();
        }
        RemoveAll();
        return Root;
    }

    /// <summary>
    /// PEFT's <c>unload</c>: removes every adapter and hook without merging. Returns the plain model (<see cref="Root"/>); when
    /// no adapter was merged its weights were never touched, so its outputs equal the base model's bit for bit (a merged
    /// adapter is unmerged first, up to rounding). Parameters trained outside the adapters keep their values, as in PEFT.
    /// </summary>
    public nn.Module Unload()
    {
        CheckAttached();
        for (int i = attachments.Count - 1; i >= 0; i--)
        {
            var a = attachments[i];
            for (int j = a.Layers.Count - 1; j >= 0; j--)
                if (a.Layers[j].Adapter.IsMerged) a.Layers[j].Adapter.Unmerge(a.Layers[j].Layer);
        }
        RemoveAll();
        return Root;
    }

    private void RemoveAll()
    {
        foreach (var a in attachments)
        {
            Peft.Detach(a);
            a.IsAttached = false;
        }
        attachments.Clear();
        active.Clear();
        Peft.Forget(this);
    }

    private void CheckAttached()
    {
        if (attachments.Count == 0)
            throw new InvalidOperationException($"The adapters of {Root.GetType().Name} were unloaded; attach again to use adapters.");
    }

    /// <summary>
    /// PEFT's <c>add_weighted_adapter</c>: a new (inactive) adapter <paramref name="adapterName"/> combining
    /// <paramref name="adapters"/> with <paramref name="weights"/>. <paramref name="combinationType"/>:
    /// <list type="bullet">
    /// <item><c>cat</c> (LoRA): A = [w_1·s_1·A_1; …], B = [B_1, …], rank Σ r_i, scaling 1 — exactly ΔW = Σ w_i·ΔW_i.</item>
    /// <item><c>linear</c> (LoRA, equal ranks): A = Σ √(w_i·s_i)·A_i, B = Σ √(w_i·s_i)·B_i, scaling 1 — PEFT's rule, approximate:
    /// B·A holds the cross terms √(w_i s_i w_j s_j)·B_i·A_j, so it equals Σ w_i·ΔW_i only for one adapter. Weights must be ≥ 0.</item>
    /// <item><c>linear</c> (1LoRA, same compression vectors): b = Σ w_i·b_i — exact, ΔW = Σ w_i·ΔW_i.</item>
    /// </list>
    /// The adapters must be of one method on the same layers (without TrainScale; DoRA is refused, as by PEFT). The new
    /// adapter's other options (dropout, compression) are the first adapter's; LoRA's rsLoRA is off (scaling 1 exactly).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown names, a taken name, a count mismatch, an unsupported method or combination.</exception>
    public PeftAttachment AddWeightedAdapter(IReadOnlyList<string> adapters, IReadOnlyList<double> weights, string adapterName, string combinationType)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        ArgumentNullException.ThrowIfNull(weights);
        CheckAttached();
        if (adapters.Count == 0 || adapters.Count != weights.Count)
            throw new ArgumentException($"AddWeightedAdapter needs one weight per adapter, got {adapters.Count} adapters and {weights.Count} weights.", nameof(weights));
        CheckName(adapterName);
        if (Contains(adapterName))
            throw new ArgumentException($"An adapter named '{adapterName}' already exists.", nameof(adapterName));
        var sources = adapters.Select(n => this[n]).ToList();
        foreach (var w in weights)
            if (!double.IsFinite(w)) throw new ArgumentException($"Weight {w} is not finite.", nameof(weights));
        var first = sources[0];
        var paths = first.Layers.Select(l => l.Path).ToList();
        foreach (var s in sources.Skip(1))
        {
            var other = s.Layers.Select(l => l.Path).ToList();
            if (!other.SequenceEqual(paths))
                throw new ArgumentException(
                    $"Adapters '{first.Name}' and '{s.Name}' adapt different layers ({string.Join(", ", paths.Except(other).Concat(other.Except(paths)).Take(3))} …); AddWeightedAdapter combines adapters on the same layers.", nameof(adapters));
            if (s.Method.Name != first.Method.Name)
                throw new ArgumentException($"Adapters '{first.Name}' ({first.Method.Name}) and '{s.Name}' ({s.Method.Name}) are of different methods.", nameof(adapters));
        }
        if (sources.SelectMany(s => s.Layers).FirstOrDefault(l => l.Adapter.IsMerged) is { } m)
            throw new InvalidOperationException($"The adapter on '{m.Path}' is merged; unmerge before AddWeightedAdapter.");
        var layers = first.Layers.Select(l => new TargetLayer(l.Path, l.Layer)).ToList();

        if (first.Layers.All(l => l.Adapter is LoRAAdapter) && first.Method is PeftMethodBase { Options: var loraOptions })
        {
            var ranks = first.Layers.Select((l, i) => sources.Select(s => ((LoRAAdapter)s.Layers[i].Adapter).Rank).ToList()).ToList();
            if (sources.Any(s => s.Layers.Any(l => l.Adapter is not LoRAAdapter)))
                throw new ArgumentException("AddWeightedAdapter combines adapters of one method.", nameof(adapters));
            int[] newRanks = combinationType switch
            {
                "cat" => ranks.Select(r => r.Sum()).ToArray(),
                "linear" => ranks.Select((r, i) => r.Distinct().Count() == 1 ? r[0]
                    : throw new ArgumentException($"combination 'linear' needs equal ranks; on '{paths[i]}' the ranks are {string.Join(", ", r)} (use 'cat').", nameof(combinationType))).ToArray(),
                _ => throw Unsupported(combinationType, "LoRA"),
            };
            if (combinationType == "linear" && weights.FirstOrDefault(w => w < 0) is var neg && neg < 0)
                throw new ArgumentException($"combination 'linear' takes √(weight·scaling), so weights must be ≥ 0; got {neg} (use 'cat').", nameof(weights));
            var options = loraOptions.Clone();
            options.Method = "LoRA";
            options.Rank = newRanks[0];
            options.Alpha = newRanks[0];
            options.UseRsLoRA = false;
            options.RankPattern = [];
            options.AlphaPattern = [];
            for (int i = 0; i < paths.Count; i++)
                if (newRanks[i] != newRanks[0])
                {
                    options.RankPattern[Regex.Escape(paths[i])] = newRanks[i];
                    options.AlphaPattern[Regex.Escape(paths[i])] = newRanks[i];
                }
            var combined = AddAdapter(adapterName, new LoRAMethod(options), layers);
            using (no_grad())
            using (NewDisposeScope())
            {
                for (int i = 0; i < layers.Count; i++)
                {
                    var target = (LoRAAdapter)combined.Layers[i].Adapter;
                    var parts = sources.Select((s, j) => ((LoRAAdapter)s.Layers[i].Adapter, weights[j])).ToList();
                    if (combinationType == "cat")
                    {
                        target.LoraA.copy_(cat(parts.Select(p => p.Item1.LoraA * (p.Item2 * p.Item1.Scaling)).ToArray(), 0));
                        target.LoraB.copy_(cat(parts.Select(p => (Tensor)p.Item1.LoraB).ToArray(), 1));
                    }
                    else
                    {
                        target.LoraA.zero_();
                        target.LoraB.zero_();
                        foreach (var (src, w) in parts)
                        {
                            var f = Math.Sqrt(w * src.Scaling);
                            target.LoraA.add_(src.LoraA, f);
                            target.LoraB.add_(src.LoraB, f);
                        }
                    }
                }
            }
            return combined;
        }

        if (first.Layers.All(l => l.Adapter is global::OneLoRA.Methods.OneLoRA.OneLoRAAdapter) && first.Method is PeftMethodBase { Options: var oneOptions })
        {
            if (combinationType != "linear") throw Unsupported(combinationType, "1LoRA");
            if (sources.Any(s => s.Layers.Any(l => l.Adapter is not global::OneLoRA.Methods.OneLoRA.OneLoRAAdapter)))
                throw new ArgumentException("AddWeightedAdapter combines adapters of one method.", nameof(adapters));
            for (int i = 0; i < layers.Count; i++)
            {
                var v0 = ((global::OneLoRA.Methods.OneLoRA.OneLoRAAdapter)first.Layers[i].Adapter).CompressionVector;
                foreach (var s in sources.Skip(1))
                {
                    var v = ((global::OneLoRA.Methods.OneLoRA.OneLoRAAdapter)s.Layers[i].Adapter).CompressionVector;
                    if (!SameVector(v0, v))
                        throw new ArgumentException(
                            $"Adapters '{first.Name}' and '{s.Name}' compress '{paths[i]}' with different vectors: b = Σ w_i·b_i is exact only for one compression.", nameof(adapters));
                }
            }
            var combined = AddAdapter(adapterName, new global::OneLoRA.Methods.OneLoRA.OneLoRAMethod(oneOptions), layers);
            using (no_grad())
            using (NewDisposeScope())
            {
                for (int i = 0; i < layers.Count; i++)
                {
                    var target = (global::OneLoRA.Methods.OneLoRA.OneLoRAAdapter)combined.Layers[i].Adapter;
                    if (!SameVector(target.CompressionVector, ((global::OneLoRA.Methods.OneLoRA.OneLoRAAdapter)first.Layers[i].Adapter).CompressionVector))
                    {
                        DeleteAdapter(adapterName);
                        throw new InvalidOperationException($"The combined adapter's compression vector on '{paths[i]}' differs from '{first.Name}''s; nothing was added.");
                    }
                    target.DecompressionVector.zero_();
                    for (int j = 0; j < sources.Count; j++)
                        target.DecompressionVector.add_(((global::OneLoRA.Methods.OneLoRA.OneLoRAAdapter)sources[j].Layers[i].Adapter).DecompressionVector, weights[j]);
                }
            }
            return combined;
        }

        throw new ArgumentException(
            $"AddWeightedAdapter supports LoRA ('linear', 'cat') and 1LoRA ('linear'); adapter '{first.Name}' is {first.Method.Name}" +
            (first.Layers.Any(l => l.Adapter is ScaledAdapter) ? " with TrainScale" : "") + ".", nameof(adapters));
    }

    private static ArgumentException Unsupported(string combinationType, string method) =>
        new($"combination '{combinationType}' is not supported for {method}; supported: " + (method == "LoRA" ? "'linear', 'cat'" : "'linear'") + ".", nameof(combinationType));

    private static bool SameVector(Tensor? a, Tensor? b)
    {
        if (a is null || b is null) return a is null && b is null;
        return a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    /// <summary>
    /// PEFT's <c>load_adapter</c>: adds the adapter saved in <paramref name="directory"/> (its subfolder
    /// <paramref name="adapterName"/> for a non-default name, the layout <see cref="Save"/> writes) under that name, with the
    /// method, options and targets its <c>adapter_config.json</c> states, and loads its values. It is inactive until
    /// <see cref="SetAdapter(string)"/>; <paramref name="isTrainable"/> false (PEFT's default) keeps it frozen when activated.
    /// A failed load leaves the model as it was.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file of the adapter directory is missing.</exception>
    /// <exception cref="AdapterLoadException">An unsupported field, no layer selected, modules_to_save, or tensors that do not fit.</exception>
    public PeftAttachment LoadAdapter(string directory, string adapterName, bool isTrainable = false, bool allowNonFinite = false)
    {
        CheckAttached();
        CheckName(adapterName);
        if (Contains(adapterName))
            throw new ArgumentException($"An adapter named '{adapterName}' already exists; the model's adapters are: {string.Join(", ", Names.Select(n => $"'{n}'"))}.", nameof(adapterName));
        var source = AdapterFiles.AdapterDirectory(directory, adapterName);
        var configPath = Path.Combine(source, AdapterFiles.ConfigFileName);
        var weightsPath = Path.Combine(source, AdapterFiles.WeightsFileName);
        foreach (var required in new[] { configPath, weightsPath })
            if (!File.Exists(required))
                throw new FileNotFoundException(
                    $"Adapter directory '{source}' has no {Path.GetFileName(required)}; expected {AdapterFiles.ConfigFileName} and {AdapterFiles.WeightsFileName} (written by Save or PEFT's save_pretrained).", required);
        var config = AdapterConfig.Read(configPath);
        var options = config.ToOptions();
        var rule = config.Targets();
        if (rule.ModulesToSave.Count > 0)
            throw new AdapterLoadException(configPath,
                $"modules_to_save [{string.Join(", ", rule.ModulesToSave)}] would be shared by every adapter of the model (PEFT keeps a copy per adapter, this library does not); load it alone with FromPretrained.");
        IPeftMethod method;
        try { method = PeftMethods.Create(options); }
        catch (ArgumentException e) { throw new AdapterLoadException(configPath, e.Message); }
        var candidates = PeftModel.LinearLayers(Root);
        var layers = candidates.Where(c => rule.Selects(c.Path)).ToList();
        if (layers.Count == 0)
            throw new AdapterLoadException(configPath,
                $"target_modules selects no Linear layer of {Root.GetType().Name}. Linear layers: {(candidates.Count == 0 ? "(none)" : string.Join(", ", candidates.Select(c => c.Path)))}.");
        using (Safetensors.Open(weightsPath)) { }
        PeftAttachment attachment;
        try { attachment = AddAdapter(adapterName, method, layers); }
        catch (InvalidOperationException e) { throw new AdapterLoadException(configPath, e.Message); }
        try
        {
            attachment.Load(directory, adapterName, allowNonFinite);
        }
        catch (Exception)
        {
            DeleteAdapter(adapterName);
            throw;
        }
        if (!isTrainable) attachment.Suspended.Clear();
        return attachment;
    }

    /// <summary>
    /// PEFT's <c>save_pretrained</c> of every adapter: <c>default</c> into <paramref name="directory"/> itself, every other
    /// adapter into <c>directory/NAME/</c> (adapter_config.json + adapter_model.safetensors each, written atomically).
    /// </summary>
    public void Save(string directory, string? baseModelNameOrPath = null)
    {
        CheckAttached();
        foreach (var a in attachments) a.Save(directory, a.Name, baseModelNameOrPath);
    }
}
