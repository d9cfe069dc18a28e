using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Methods.DiffFit;

/// <summary>
/// The DiffFit strategy: one <see cref="DiffFitAdapter"/> per target layer, and the norm layers trained
/// (TrainNorms forced on: "DiffFit trains the normalization layers"). TrainBiases and TrainScale are switched
/// off: the adapter already trains β and γ. A class embedding, which DiffFit also trains, is not found
/// automatically; train it with <see cref="PeftAttachment.TrainFully"/>.
/// </summary>
public sealed class DiffFitMethod : PeftMethodBase
{
    /// <summary>DiffFit with the given options.</summary>
    public DiffFitMethod(PeftOptions options) : base(options)
    {
        Options.TrainNorms = true;
        Options.TrainBiases = false;
        Options.TrainScale = false;
    }

    /// <summary>DiffFit with default options.</summary>
    public DiffFitMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "DiffFit";

    /// <inheritdoc />
    public override string PeftType => "DIFFFIT";

    /// <inheritdoc />
    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new DiffFitAdapter(l.Layer)).ToList();
}
