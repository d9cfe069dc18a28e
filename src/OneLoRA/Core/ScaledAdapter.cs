using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// The TrainScale combination (the scale γ of the paper's ablation, Tables S11/S12) on top of any method:
/// <c>y = γ ⊙ adapted(x)</c> with a trainable <c>γ ∈ R^d</c>, ones at init, so the start is the inner method's start.
/// Merge folds the inner adapter first, then scales the rows of W and the bias by γ; unmerge reverses both.
/// The inner adapter is a submodule named as itself (<c>&lt;path&gt;.scaled.&lt;inner&gt;.&lt;param&gt;</c>); its
/// file keys are kept and <c>scale_gamma</c> is added.
/// </summary>
public sealed class ScaledAdapter : LinearAdapter
{
    // Registered by hand (the inner adapter under its own name), so RegisterComponents must not add field names.
    private readonly Parameter gamma;
    private readonly LinearAdapter inner;
    private RowScaling? mergedWeight, mergedBias;

    /// <param name="inner">The method's adapter on <paramref name="layer"/>.</param>
    /// <param name="layer">The adapted layer.</param>
    public ScaledAdapter(LinearAdapter inner, Linear layer) : base("scaled", layer)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (inner.InFeatures != InFeatures || inner.OutFeatures != OutFeatures)
            throw new ArgumentException(
                $"The {inner.GetName()} adapter was made for a {inner.InFeatures}→{inner.OutFeatures} layer, not this {InFeatures}→{OutFeatures} one.", nameof(inner));
        this.inner = inner;
        gamma = new Parameter(ones(OutFeatures, dtype: layer.weight!.dtype, device: layer.weight.device));
        register_parameter("gamma", gamma);
        register_module(inner.GetName(), inner);
    }

    /// <summary>The method's own adapter.</summary>
    public LinearAdapter Inner => inner;

    /// <summary>The trainable per-output scale γ (out_features), ones at init.</summary>
    public Parameter Gamma => gamma;

    /// <inheritdoc />
    protected override void RegisterComponents()
    {
    }

    // The inner adapter names the same layer in its messages.
    private protected override void OnPathSet(string value) => inner.Path = value;

    /// <inheritdoc />
    public override IEnumerable<Tensor> ReplacedLayerParameters(Linear layer) => inner.ReplacedLayerParameters(layer);

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => inner.Adapt(layer, x, baseOutput).mul(gamma);

    /// <inheritdoc />
    public override Tensor AdaptFromInput(Linear layer, Tensor x) => inner.AdaptFromInput(layer, x).mul(gamma);

    /// <inheritdoc />
    protected override void MergeInto(Linear layer)
    {
        inner.Merge(layer);
        try
        {
            mergedWeight = RowScaling.Apply(layer.weight!, gamma, $"'{Path}'.weight");
            if (layer.bias is { } bias) mergedBias = RowScaling.Apply(bias, gamma, $"'{Path}'.bias");
        }
        catch
        {
            // Leave the inner adapter unmerged; LinearAdapter.Merge restores the weights bit for bit.
            if (mergedWeight is not null) { mergedWeight.Undo(layer.weight!); mergedWeight = null; }
            inner.Unmerge(layer);
            throw;
        }
    }

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer)
    {
        mergedWeight!.Undo(layer.weight!);
        mergedWeight = null;
        if (mergedBias is not null)
        {
            mergedBias.Undo(layer.bias ?? throw new InvalidOperationException($"Layer '{Path}' lost its bias while merged; cannot unmerge the scale."));
            mergedBias = null;
        }
        inner.Unmerge(layer);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        foreach (var t in inner.AdapterTensors()) yield return t;
        yield return ("scale_gamma", gamma);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> SharedTensors() => inner.SharedTensors();
}
