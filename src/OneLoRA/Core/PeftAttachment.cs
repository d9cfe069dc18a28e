using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>One adapted layer of an attachment.</summary>
/// <param name="Path">The layer's dotted path in the model.</param>
/// <param name="Layer">The layer.</param>
/// <param name="Adapter">Its adapter.</param>
/// <param name="AdapterPath">Where the adapter is registered (<c>named_parameters()</c> prefix), e.g. <c>blocks.0.fc1_onelora</c>.</param>
public sealed record AdaptedLayer(string Path, Linear Layer, LinearAdapter Adapter, string AdapterPath);

/// <summary>
/// The adapters of one model: created by <see cref="Peft.Attach"/> (directly, from generated
/// <c>AttachAdapters</c>, or by runtime attach). Merges, unmerges, lists trainable parameters, reports counts.
/// </summary>
public sealed class PeftAttachment
{
    // Names, not Parameter objects: model.to(device/dtype) replaces every Parameter (disposing the old ones).
    private readonly List<string> extraTrainable;

    internal PeftAttachment(nn.Module root, nn.Module host, IPeftMethod method, IReadOnlyList<AdaptedLayer> layers, List<string> extraTrainable,
        string name, PeftAdapterSet set)
    {
        Root = root;
        Host = host;
        Method = method;
        Layers = layers;
        this.extraTrainable = extraTrainable;
        Name = name;
        Set = set;
    }

    /// <summary>The adapter's name among the model's named adapters: <c>default</c> for the first one attached.</summary>
    public string Name { get; }

    /// <summary>The model's named adapters, this one among them.</summary>
    public PeftAdapterSet Set { get; }

    /// <summary>True while this adapter is among the active ones (<see cref="PeftAdapterSet.ActiveAdapters"/>).</summary>
    public bool IsActive => Set.ActiveAdapters.Contains(Name);

    /// <summary>False once the adapter was deleted or unloaded: it is no longer part of the model.</summary>
    public bool IsAttached { get; internal set; } = true;

    // Names (in Host) of the parameters this adapter trained when it was deactivated: trainable again when it is activated.
    internal HashSet<string> Suspended { get; } = new(StringComparer.Ordinal);

    internal IEnumerable<(string Name, Parameter Parameter)> NamedAdapterParameters()
    {
        foreach (var l in Layers)
            foreach (var (name, p) in l.Adapter.named_parameters())
                yield return ($"{l.AdapterPath}.{name}", p);
    }

    /// <summary>The model the adapters are attached to.</summary>
    public nn.Module Root { get; }

    /// <summary>
    /// The module whose <c>named_parameters()</c> lists and whose <c>.to()</c> converts the model with its adapters:
    /// <see cref="Root"/> itself, or a <see cref="PeftRoot"/> wrapping it when the root is a Sequential or a Linear.
    /// </summary>
    public nn.Module Host { get; }

    /// <summary>The method that created the adapters.</summary>
    public IPeftMethod Method { get; }

    /// <summary>The adapted layers, in attach order.</summary>
    public IReadOnlyList<AdaptedLayer> Layers { get; }

    /// <summary>Parameters outside adapters that are trained (norms, biases, heads trained in full).</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> ExtraTrainable
    {
        get
        {
            var current = ParametersByName(Host);
            return extraTrainable.Select(name => (name, current.TryGetValue(name, out var p) ? p
                : throw new InvalidOperationException($"Trained parameter '{name}' is no longer part of {Root.GetType().Name}."))).ToList();
        }
    }

    /// <summary>True when every adapter is merged into its layer.</summary>
    public bool IsMerged => Layers.Count > 0 && Layers.All(l => l.Adapter.IsMerged);

    /// <summary>Adapter lookup by dotted layer path.</summary>
    public LinearAdapter this[string path] =>
        Layers.FirstOrDefault(l => l.Path == path)?.Adapter
        ?? throw new KeyNotFoundException($"No adapted layer at '{path}'. Adapted layers: {string.Join(", ", Layers.Select(l => l.Path))}.");

    /// <summary>Every trainable parameter under its name in <c>named_parameters()</c>: adapters first, then extras.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedTrainableParameters()
    {
        foreach (var l in Layers)
            foreach (var (name, p) in l.Adapter.named_parameters())
                if (p.requires_grad) yield return ($"{l.AdapterPath}.{name}", p);
        foreach (var e in ExtraTrainable)
            if (e.Parameter.requires_grad) yield return e;
    }

    /// <summary>The parameters to hand to the optimizer.</summary>
    public IEnumerable<Parameter> TrainableParameters() => NamedTrainableParameters().Select(p => p.Parameter);

    /// <summary>Trains a whole submodule (e.g. a new classification head; PEFT's modules_to_save).</summary>
    /// <exception cref="ArgumentException">The module is not part of the model.</exception>
    public void TrainFully(string path, nn.Module module)
    {
        var names = NamesByHandle(Host);
        foreach (var (name, p) in module.named_parameters())
        {
            if (!names.TryGetValue(p.Handle, out var registered))
                throw new ArgumentException(
                    $"'{path}' is not a registered submodule of {Root.GetType().Name}: its parameter '{name}' is not among the model's parameters.", nameof(module));
            p.requires_grad = true;
            if (!extraTrainable.Contains(registered)) extraTrainable.Add(registered);
        }
    }

    internal static Dictionary<string, Parameter> ParametersByName(nn.Module root) =>
        root.named_parameters().GroupBy(p => p.name).ToDictionary(g => g.Key, g => g.First().parameter);

    internal static Dictionary<IntPtr, string> NamesByHandle(nn.Module root) =>
        root.named_parameters().GroupBy(p => p.parameter.Handle).ToDictionary(g => g.Key, g => g.First().name);

    /// <summary>
    /// Folds every adapter into its layer: inference then costs exactly the base model. All or nothing: every
    /// adapter is checked (not merged, finite tensors) before any weight is touched, and when a layer's merge
    /// fails the layers merged before it are unmerged and restored bit for bit from copies.
    /// </summary>
    /// <exception cref="InvalidOperationException">Some adapter is already merged (nothing is changed).</exception>
    /// <exception cref="AdapterMergeException">A layer cannot be merged; it is named and every weight is unchanged.</exception>
    public void Merge() => AllOrNothing(merge: true);

    /// <summary>Undoes <see cref="Merge"/>, restoring the base weights; all or nothing like <see cref="Merge"/>.</summary>
    /// <exception cref="InvalidOperationException">Some adapter is not merged (nothing is changed).</exception>
    /// <exception cref="AdapterMergeException">A layer cannot be unmerged; it is named and every weight is unchanged.</exception>
    public void Unmerge() => AllOrNothing(merge: false);

    /// <summary>Throws when this adapter was deleted or unloaded: saving, loading, merging or unmerging it would act on modules the model no longer has.</summary>
    /// <exception cref="InvalidOperationException">Deleted or unloaded; the message names the adapter and <paramref name="action"/>.</exception>
    internal void RequireAttached(string action)
    {
        if (!IsAttached)
            throw new InvalidOperationException($"Adapter '{Name}' was deleted or unloaded; it is no longer part of {Root.GetType().Name} and cannot be {action}.");
    }

    private void AllOrNothing(bool merge)
    {
        RequireAttached(merge ? "merged" : "unmerged");
        foreach (var l in Layers)
        {
            if (l.Adapter.IsMerged == merge)
                throw new InvalidOperationException(merge
                    ? $"The {l.Adapter.GetName()} adapter on '{l.Path}' is already merged; call Unmerge first. Nothing was merged."
                    : $"The {l.Adapter.GetName()} adapter on '{l.Path}' is not merged; nothing was unmerged.");
            if (merge) l.Adapter.CheckMergeable();
        }
        var done = new List<(AdaptedLayer Layer, WeightSnapshot Before)>();
        try
        {
            foreach (var l in Layers)
            {
                var before = WeightSnapshot.Take(l.Layer);
                try
                {
                    if (merge) l.Adapter.Merge(l.Layer);
                    else l.Adapter.Unmerge(l.Layer);
                }
                catch (Exception e)
                {
                    before.Dispose();
                    Rollback(done, merge);
                    throw new AdapterMergeException(l.Path,
                        $"{(merge ? "Merge" : "Unmerge")} failed at layer '{l.Path}'" + (done.Count > 0 ? $"; the {done.Count} layer(s) done before it were rolled back" : "")
                        + $", so every weight is unchanged. {e.Message}", e);
                }
                done.Add((l, before));
            }
        }
        finally
        {
            foreach (var (_, before) in done) before.Dispose();
        }
    }

    private static void Rollback(List<(AdaptedLayer Layer, WeightSnapshot Before)> done, bool merged)
    {
        for (int i = done.Count - 1; i >= 0; i--)
        {
            var (l, before) = done[i];
            // The method's own undo resets its state; the copy then makes the weights bit-identical.
            try
            {
                if (merged) l.Adapter.Unmerge(l.Layer);
                else l.Adapter.Merge(l.Layer);
            }
            catch (Exception)
            {
                // The weights are restored from the copy below regardless.
            }
            before.Restore(l.Layer);
        }
    }

    /// <summary>
    /// Trainable versus total parameters of the model, each counted once: a layer parameter an adapter's parameter
    /// stands in for (<see cref="LinearAdapter.ReplacedLayerParameters"/>, BitFit's β for β0) is not counted again.
    /// </summary>
    public ParameterReport Report()
    {
        var seen = new HashSet<IntPtr>();
        foreach (var l in Layers)
            foreach (var replaced in l.Adapter.ReplacedLayerParameters(l.Layer))
                seen.Add(replaced.Handle);
        long total = 0;
        foreach (var p in Host.parameters())
            if (seen.Add(p.Handle)) total += p.numel();
        long trainable = 0;
        var counted = new HashSet<IntPtr>();
        foreach (var (_, p) in NamedTrainableParameters())
            if (counted.Add(p.Handle)) trainable += p.numel();
        return new ParameterReport(trainable, total, Layers.Count, Method.Name);
    }
}
