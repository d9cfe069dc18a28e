using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.DiffFit;

/// <summary>
/// DiffFit (Xie et al. 2023, arXiv:2304.06648) per linear layer as in the 1LoRA paper's Table 1:
/// <c>y = γ ⊙ (W0·x + β)</c> with a trainable scale <c>γ ∈ R^d</c> (ones) and bias <c>β ∈ R^d</c> (the layer's bias β0,
/// zeros for a layer without one); the method also trains the norm layers. The adapter computes
/// <c>γ ⊙ (base(x) + β − β0)</c>, so the start is the base model. Merge: <c>W' = γ[:, None]·W0</c>, <c>β' = γ⊙β</c>;
/// unmerge divides the rows back (rows with γ = 0 are restored from a copy) and restores β0 exactly.
/// </summary>
public sealed class DiffFitAdapter : LinearAdapter
{
    // Field names are the registered names (TorchSharp's .to() writes back by name).
    private readonly Parameter gamma;
    private readonly Parameter beta;
    private RowScaling? mergedWeight;
    private BiasReplacement? mergedBias;

    /// <param name="layer">The layer to adapt.</param>
    public DiffFitAdapter(Linear layer) : base("difffit", layer)
    {
        var w = layer.weight!;
        gamma = new Parameter(ones(OutFeatures, dtype: w.dtype, device: w.device));
        beta = LayerBias.TrainableCopy(layer);
        RegisterComponents();
    }

    /// <summary>The trained scale γ (out_features), ones at init.</summary>
    public Parameter Gamma => gamma;

    /// <summary>The trained bias β (out_features), β0 at init.</summary>
    public Parameter Beta => beta;

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput.add(LayerBias.Shift(layer, beta)).mul(gamma);

    /// <summary>The layer's bias β0, which β stands in for (counted once).</summary>
    public override IEnumerable<Tensor> ReplacedLayerParameters(Linear layer) => layer.bias is { } b0 ? [b0] : [];

    /// <inheritdoc />
    protected override void MergeInto(Linear layer)
    {
        mergedWeight = RowScaling.Apply(layer.weight!, gamma, $"'{Path}'.weight");
        mergedBias = BiasReplacement.Apply(layer, gamma.mul(beta));
    }

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer)
    {
        mergedBias!.Undo(layer, Path);
        mergedBias = null;
        mergedWeight!.Undo(layer.weight!);
        mergedWeight = null;
    }

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("difffit_gamma", gamma);
        yield return ("difffit_beta", beta);
    }
}
