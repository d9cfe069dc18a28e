using System;
using System.Collections.Generic;
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

    /// <summary>Dotted path of the adapted layer in its model; set by attach.</summary>
    public string Path { get; internal set; } = "";

    /// <summary>True after <see cref="Merge"/>: the delta lives in the layer's weights and the forward is the base forward.</summary>
    public bool IsMerged { get; private set; }

    /// <summary>When false the layer computes its base output only (PEFT's <c>disable_adapter</c>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>True when the forward must add the method's contribution.</summary>
    public bool IsActive => Enabled && !IsMerged;

    /// <summary>Adapter-wrapped forward, no hooks: the base output when merged or disabled, else <see cref="Adapt"/>.</summary>
    public Tensor Forward(Linear layer, Tensor x)
    {
        var y = layer.forward(x);
        return IsActive ? Adapt(layer, x, y) : y;
    }

    /// <summary>
    /// The adapted output given the input and the base output <c>W0·x + β0</c>. Training-time path:
    /// must not materialise ΔW where the method can avoid it.
    /// </summary>
    public abstract Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput);

    /// <summary>Folds the adapter into the layer's weights (in fp32, in place, without gradient tracking).</summary>
    /// <exception cref="InvalidOperationException">Already merged.</exception>
    public void Merge(Linear layer)
    {
        if (IsMerged)
            throw new InvalidOperationException($"The {GetName()} adapter on '{Path}' is already merged; call Unmerge first.");
        using (no_grad())
            MergeInto(layer);
        IsMerged = true;
    }

    /// <summary>Removes the adapter from the layer's weights, restoring W0 (up to fp32 rounding).</summary>
    /// <exception cref="InvalidOperationException">Not merged.</exception>
    public void Unmerge(Linear layer)
    {
        if (!IsMerged)
            throw new InvalidOperationException($"The {GetName()} adapter on '{Path}' is not merged; nothing to unmerge.");
        using (no_grad())
            UnmergeFrom(layer);
        IsMerged = false;
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

    /// <summary>The trainable parameters of this adapter.</summary>
    public IEnumerable<Parameter> TrainableParameters()
    {
        foreach (var p in parameters())
            if (p.requires_grad) yield return p;
    }

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
