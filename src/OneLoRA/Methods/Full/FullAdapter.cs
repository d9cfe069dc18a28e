using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.Full;

/// <summary>
/// Full fine-tuning's stand-in adapter: no parameters, the base output unchanged. The layer's own weights are
/// trained, so merged and unmerged are the same model; merge and unmerge change nothing.
/// </summary>
public sealed class FullAdapter : LinearAdapter
{
    /// <param name="layer">The layer (trained in place).</param>
    public FullAdapter(Linear layer) : base("full", layer)
    {
    }

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput;

    /// <inheritdoc />
    protected override void MergeInto(Linear layer)
    {
    }

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer)
    {
    }

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors() => [];
}
