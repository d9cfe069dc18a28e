using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Samples.PluginMethod;

/// <summary>
/// IA³-style output scaling (Liu et al. 2022, "(IA)³"): <c>y = l ⊙ (W0·x + β0)</c> with a trainable
/// <c>l ∈ R^d</c>, ones at init, so the adapted model starts as the base model. Merging scales row i of
/// W0 and β0[i] by l[i]; unmerging divides them back (every l[i] must be non-zero).
/// </summary>
public sealed class OutputScaleAdapter : LinearAdapter
{
    // Field name is the registered name (TorchSharp's .to() writes back by name).
    private readonly Parameter l;

    /// <param name="layer">The layer to adapt.</param>
    public OutputScaleAdapter(Linear layer) : base("output_scale", layer)
    {
        l = new Parameter(ones(OutFeatures, dtype: layer.weight!.dtype, device: layer.weight.device));
        RegisterComponents();
    }

    /// <summary>The trainable per-output scale l (out_features).</summary>
    public Parameter L => l;

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput * l;

    /// <inheritdoc />
    protected override void MergeInto(Linear layer)
    {
        layer.weight!.mul_(l.unsqueeze(1));
        layer.bias?.mul_(l);
    }

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer)
    {
        if (l.eq(0).any().item<bool>())
            throw new InvalidOperationException($"Cannot unmerge the output_scale adapter on '{Path}': a scale is 0, so W0 cannot be recovered.");
        layer.weight!.div_(l.unsqueeze(1));
        layer.bias?.div_(l);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("output_scale_l", l);
    }
}
