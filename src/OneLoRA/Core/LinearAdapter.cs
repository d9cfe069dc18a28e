using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Base of every adapter on a <see cref="Linear"/> layer: holds the method's parameters (registered beside the
/// layer by <see cref="Peft.Attach"/>, so <c>named_parameters()</c> and <c>state_dict()</c> list them), computes the
/// adapted output, and merges into / unmerges from the layer's weights in place.
/// </summary>
public abstract class LinearAdapter : nn.Module
{
    /// <param name="name">Module name under the layer, e.g. <c>onelora</c>; also the prefix of its parameter names.</param>
    /// <param name="layer">The layer this adapter is created for (its shape is recorded).</param>
    protected LinearAdapter(string name, Linear layer) : base(name)
    {
        InFeatures = layer.in_features;
        OutFeatures = layer.out_features;
    }

    /// <summary>k: the layer's input size.</summary>
    public long InFeatures { get; }

    /// <summary>d: the layer's output size.</summary>
    public long OutFeatures { get; }

    /// <summary>Dotted path of the adapted layer in its model; set by attach (and passed on to wrapped adapters).</summary>
    public string Path
    {
        get => path;
        internal set
        {
            path = value;
            OnPathSet(value);
        }
    }

    private string path = "";

    /// <summary>Called when attach sets <see cref="Path"/>; a wrapping adapter gives its inner adapter the same path.</summary>
    private protected virtual void OnPathSet(string value)
    {
    }

    /// <summary>True after <see cref="Merge"/>: the delta lives in the layer's weights and the forward is the base forward.</summary>
    public bool IsMerged { get; private set; }

    /// <summary>When false the layer computes its base output only (PEFT's <c>disable_adapter</c>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>False while the named adapter this belongs to is not among the active ones (<see cref="PeftAdapterSet.SetAdapter(string)"/>).</summary>
    internal bool InActiveSet { get; set; } = true;

    /// <summary>True when the forward must add the method's contribution.</summary>
    public bool IsActive => Enabled && !IsMerged;

    /// <summary>Adapter-wrapped forward, no hooks: the base output when merged or disabled, else <see cref="Adapt"/>.</summary>
    public Tensor Forward(Linear layer, Tensor x) => IsActive ? AdaptFromInput(layer, x) : layer.forward(x);

    /// <summary>
    /// The adapted output from the input alone: <c>Adapt(layer, x, layer.forward(x))</c> unless the method computes the
    /// base output itself where that is cheaper (1LoRA does, on the flattened input; see <see cref="Methods.OneLoRA.OneLoRAAdapter"/>).
    /// Used by the generated interceptors (<see cref="PeftRuntime.Forward"/>) and <see cref="Forward"/>; a forward hook,
    /// which receives the base output, calls <see cref="Adapt"/>. An override must return what <see cref="Adapt"/> returns.
    /// </summary>
    public virtual Tensor AdaptFromInput(Linear layer, Tensor x) => Adapt(layer, x, layer.forward(x));

    /// <summary>
    /// The adapted output given the input and the base output <c>W0·x + β0</c>. Training-time path:
    /// must not materialise ΔW where the method can avoid it.
    /// </summary>
    public abstract Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput);

    /// <summary>
    /// Folds the adapter into the layer's weights (in fp32, in place, without gradient tracking). Safe merge, as
    /// PEFT's <c>safe_merge</c>: every adapter tensor is checked finite before any weight is touched, and a merge
    /// that throws or makes a finite weight non-finite is undone from a copy, leaving the layer bit-identical.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already merged.</exception>
    /// <exception cref="AdapterMergeException">A non-finite adapter value or merged result; the layer is unchanged.</exception>
    public void Merge(Linear layer)
    {
        if (IsMerged)
            throw new InvalidOperationException($"The {GetName()} adapter on '{Path}' is already merged; call Unmerge first.");
        CheckMergeable();
        using (no_grad())
        {
            var snapshot = WeightSnapshot.Take(layer);
            try
            {
                // The method's temporaries (ΔW and the like) die here; what it keeps for unmerge it detaches.
                using (NewDisposeScope())
                    MergeInto(layer);
                if (snapshot.BecameNonFinite(layer))
                {
                    try { using (NewDisposeScope()) UnmergeFrom(layer); } catch (Exception) { /* the weights are restored from the copy below */ }
                    snapshot.Restore(layer);
                    throw new AdapterMergeException(Path,
                        $"Merging the {GetName()} adapter into '{Path}' would make its weights non-finite (NaN or ±Inf); the layer is unchanged.");
                }
            }
            catch (Exception e)
            {
                snapshot.Restore(layer);
                if (e is AdapterMergeException) throw;
                throw new AdapterMergeException(Path, $"Merging the {GetName()} adapter into '{Path}' failed: {e.Message} The layer is unchanged.", e);
            }
            finally
            {
                snapshot.Dispose();
            }
        }
        IsMerged = true;
    }

    /// <summary>Removes the adapter from the layer's weights, restoring W0 (up to fp32 rounding).</summary>
    /// <exception cref="InvalidOperationException">Not merged.</exception>
    /// <exception cref="AdapterMergeException">The method's unmerge threw; the layer's weights are as before the call.</exception>
    public void Unmerge(Linear layer)
    {
        if (!IsMerged)
            throw new InvalidOperationException($"The {GetName()} adapter on '{Path}' is not merged; nothing to unmerge.");
        using (no_grad())
        {
            using var snapshot = WeightSnapshot.Take(layer);
            try
            {
                using (NewDisposeScope())
                    UnmergeFrom(layer);
            }
            catch (Exception e)
            {
                snapshot.Restore(layer);
                throw new AdapterMergeException(Path, $"Unmerging the {GetName()} adapter from '{Path}' failed: {e.Message} The layer's weights are as before.", e);
            }
        }
        IsMerged = false;
    }

    /// <summary>Refuses a merge before any weight is touched when an adapter tensor holds NaN or ±Inf.</summary>
    /// <exception cref="AdapterMergeException">A non-finite value, naming the layer and the tensor.</exception>
    internal void CheckMergeable()
    {
        using var scope = NewDisposeScope();
        foreach (var (key, tensor) in AdapterTensors().Concat(SharedTensors()))
        {
            if (!tensor.is_floating_point() || tensor.numel() == 0) continue;
            if (!isfinite(tensor).all().item<bool>())
                throw new AdapterMergeException(Path,
                    $"Cannot merge the {GetName()} adapter into '{Path}': its tensor '{key}' holds a non-finite value (NaN or ±Inf); no weight was changed.");
        }
    }

    /// <summary>Adds the method's change to the layer's weight (and bias). Runs under no_grad.</summary>
    protected abstract void MergeInto(Linear layer);

    /// <summary>Exactly undoes <see cref="MergeInto"/>. Runs under no_grad.</summary>
    protected abstract void UnmergeFrom(Linear layer);

    /// <summary>
    /// The adapter's tensors for <c>adapter_model.safetensors</c>, keyed by the suffix after the layer path
    /// (PEFT's names where PEFT has the method, e.g. <c>lora_A.weight</c>; ours otherwise, e.g. <c>onelora_b</c>).
    /// These are the live parameters/buffers (not copies): loading an adapter file copies into them.
    /// </summary>
    public abstract IEnumerable<(string Key, Tensor Tensor)> AdapterTensors();

    /// <summary>
    /// Tensors shared by all adapters of one attach (VeRA's projections), keyed relative to <c>base_model.</c>
    /// (e.g. <c>vera_A</c>); saved once. Live tensors, like <see cref="AdapterTensors"/>. Default: none.
    /// </summary>
    public virtual IEnumerable<(string Key, Tensor Tensor)> SharedTensors() => [];

    /// <summary>
    /// The layer's own parameters that a parameter of this adapter stands in for (BitFit's and DiffFit's β for the
    /// layer's bias β0), so parameter counts take each of them once. Default: none.
    /// </summary>
    public virtual IEnumerable<Tensor> ReplacedLayerParameters(Linear layer) => [];

    /// <summary>The trainable parameters of this adapter.</summary>
    public IEnumerable<Parameter> TrainableParameters()
    {
        foreach (var p in parameters())
            if (p.requires_grad) yield return p;
    }

    /// <summary>
    /// Adapter-branch dropout (LoRA, DoRA, VeRA, MoRA): <paramref name="x"/> with probability <paramref name="p"/> dropped,
    /// in training mode only; <paramref name="x"/> itself otherwise.
    /// </summary>
    protected Tensor DropInput(Tensor x, double p) => IsDropping(p) ? nn.functional.dropout(x, p, true) : x;

    /// <summary>True when <see cref="DropInput"/> drops: p &gt; 0 in training mode.</summary>
    protected bool IsDropping(double p) => p > 0 && training;

    /// <summary>Adds <paramref name="delta"/> to <paramref name="target"/> in place, computing in fp32 at least.</summary>
    protected static void AddInPlace(Tensor target, Tensor delta, double alpha = 1.0)
    {
        using var scope = NewDisposeScope();
        if (target.dtype == ScalarType.Float32 || target.dtype == ScalarType.Float64)
        {
            target.add_(delta.to(target.dtype), alpha);
            return;
        }
        var wide = target.to(ScalarType.Float32).add_(delta.to(ScalarType.Float32), alpha);
        target.copy_(wide);
    }
}
