using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.BitFit;

/// <summary>
/// BitFit (Ben Zaken et al. 2022, arXiv:2106.10199): only the bias is trained, <c>y = W0·x + β</c>.
/// The adapter holds β itself (<c>bitfit_bias</c>), initialised to the layer's bias β0 (zeros for a layer built
/// without one), and computes <c>base(x) + (β − β0)</c>, so the base layer stays untouched until merge: the
/// adapter can be disabled, saved alone, and merged (β written into the layer, a frozen bias created when the
/// layer had none) and unmerged (β0 restored exactly, a created bias removed). Parameter counts take β and β0 as one parameter.
/// </summary>
public sealed class BitFitAdapter : LinearAdapter
{
    // Field name is the registered name (TorchSharp's .to() writes back by name).
    private readonly Parameter bias;
    private BiasReplacement? merged;

    /// <param name="layer">The layer whose bias is trained.</param>
    public BitFitAdapter(Linear layer) : base("bitfit", layer)
    {
        bias = LayerBias.TrainableCopy(layer);
        RegisterComponents();
    }

    /// <summary>The trained bias β (out_features).</summary>
    public Parameter Bias => bias;

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput.add(LayerBias.Shift(layer, bias));

    /// <summary>The layer's bias β0, which β stands in for (counted once).</summary>
    public override IEnumerable<Tensor> ReplacedLayerParameters(Linear layer) => layer.bias is { } b0 ? [b0] : [];

    /// <inheritdoc />
    protected override void MergeInto(Linear layer) => merged = BiasReplacement.Apply(layer, bias);

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer)
    {
        merged!.Undo(layer, Path);
        merged = null;
    }

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("bitfit_bias", bias);
    }
}
