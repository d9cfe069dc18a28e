using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Samples.PluginMethod;

/// <summary>
/// A plugin strategy: one <see cref="OutputScaleAdapter"/> per target layer (d parameters each, like 1LoRA).
/// Deriving from <see cref="PeftMethodBase"/> gives it the shared TrainNorms/TrainBiases options.
/// Register it with <c>services.AddPeftMethod&lt;OutputScaleMethod&gt;("OutputScale", "ia3-scale")</c>.
/// </summary>
public sealed class OutputScaleMethod(PeftOptions options) : PeftMethodBase(options)
{
    /// <inheritdoc />
    public override string Name => "OutputScale";

    /// <inheritdoc />
    public override string PeftType => "OUTPUT_SCALE";

    /// <inheritdoc />
    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new OutputScaleAdapter(l.Layer)).ToList();
}
