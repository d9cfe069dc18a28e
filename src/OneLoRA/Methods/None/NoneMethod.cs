using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Methods.None;

/// <summary>
/// The method that adds nothing: every target layer keeps its output (a parameter-free <see cref="NoneAdapter"/>) and
/// nothing is trained but the combinations, so the paper's ablation rows (Tables S11/S12) can be expressed alone:
/// "norms" = None + TrainNorms, "β" = None + TrainBiases, "γ" = None + TrainScale, and any mix. Without them nothing
/// is trainable (a frozen model, e.g. the head-only baseline when the head is trained by other means).
/// </summary>
public sealed class NoneMethod : PeftMethodBase
{
    /// <summary>None with the given options (reads TrainNorms, TrainBiases, TrainScale only).</summary>
    public NoneMethod(PeftOptions options) : base(options)
    {
    }

    /// <summary>None without combinations: nothing trainable.</summary>
    public NoneMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "None";

    /// <inheritdoc />
    public override string PeftType => "NONE";

    /// <inheritdoc />
    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new NoneAdapter(l.Layer)).ToList();
}
