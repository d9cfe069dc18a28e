using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Methods.BitFit;

/// <summary>
/// The BitFit strategy: one <see cref="BitFitAdapter"/> per target layer. Reads no method options; TrainBiases is
/// switched off (the adapter already trains the bias), TrainNorms and TrainScale combine as for any method.
/// </summary>
public sealed class BitFitMethod : PeftMethodBase
{
    /// <summary>BitFit with the given options.</summary>
    public BitFitMethod(PeftOptions options) : base(options) => Options.TrainBiases = false;

    /// <summary>BitFit with default options.</summary>
    public BitFitMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "BitFit";

    /// <inheritdoc />
    public override string PeftType => "BITFIT";

    /// <inheritdoc />
    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new BitFitAdapter(l.Layer)).ToList();
}
