using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// An adapter without parameters that leaves the layer's output as it is (<c>y = W0·x + β0</c>); merge and unmerge
/// change nothing. Methods whose training lives outside adapters (Full, None) give each target layer one, so attach,
/// reports, files and the TrainScale wrapper treat the layer as for any method.
/// </summary>
public abstract class PassThroughAdapter : LinearAdapter
{
    /// <param name="name">Module name, e.g. <c>none</c>.</param>
    /// <param name="layer">The layer, left as it is.</param>
    protected PassThroughAdapter(string name, Linear layer) : base(name, layer)
    {
    }

    /// <inheritdoc />
    public sealed override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput;

    /// <inheritdoc />
    protected sealed override void MergeInto(Linear layer)
    {
    }

    /// <inheritdoc />
    protected sealed override void UnmergeFrom(Linear layer)
    {
    }

    /// <inheritdoc />
    public sealed override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors() => [];
}
