using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// The trained-bias mechanics of methods whose adapter holds its own β in place of the layer's β0 (BitFit, DiffFit):
/// β starts as a copy of β0 (zeros for a layer built without bias), and the adapter adds β − β0 to the base output,
/// so the layer stays untouched until merge (<see cref="BiasReplacement"/> writes β in and puts β0 back).
/// </summary>
internal static class LayerBias
{
    /// <summary>A trainable copy of the layer's bias β0, or zeros (out_features) for a layer without one.</summary>
    public static Parameter TrainableCopy(Linear layer)
    {
        var w = layer.weight!;
        using (no_grad())
            return new Parameter(layer.bias is { } b0 ? b0.detach().clone() : zeros(layer.out_features, dtype: w.dtype, device: w.device));
    }

    /// <summary>β − β0: what the trained bias adds to the base output (β itself for a layer without bias).</summary>
    public static Tensor Shift(Linear layer, Tensor beta) => layer.bias is { } b0 ? beta.sub(b0) : beta;
}
