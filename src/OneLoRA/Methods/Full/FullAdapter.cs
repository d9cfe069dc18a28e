using TorchSharp.Modules;

namespace OneLoRA.Methods.Full;

/// <summary>
/// Full fine-tuning's stand-in adapter: no parameters, the base output unchanged (<see cref="PassThroughAdapter"/>). The
/// layer's own weights are trained, so merged and unmerged are the same model; merge and unmerge change nothing.
/// </summary>
public sealed class FullAdapter : PassThroughAdapter
{
    /// <param name="layer">The layer (trained in place).</param>
    public FullAdapter(Linear layer) : base("full", layer)
    {
    }
}
