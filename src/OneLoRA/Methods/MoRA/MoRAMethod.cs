using System;
using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Methods.MoRA;

/// <summary>
/// The MoRA strategy: one <see cref="MoRAAdapter"/> per target layer, r̂ chosen per layer by <see cref="PeftOptions.MoRARankRule"/>.
/// Reads MoRAType (1 or 6), MoRARankRule, Rank (for the MoRA rule), Dropout. Named <c>MoRA1</c>/<c>MoRA6</c> after its type,
/// as the paper's tables do.
/// </summary>
public sealed class MoRAMethod : PeftMethodBase
{
    /// <summary>MoRA with the given options.</summary>
    /// <exception cref="ArgumentException">MoRAType not 1 or 6, unknown MoRARankRule, Rank &lt; 1 or Dropout outside [0, 1).</exception>
    public MoRAMethod(PeftOptions options) : base(options)
    {
        Require(Options.MoRAType is 1 or 6, nameof(PeftOptions.MoRAType), Options.MoRAType, "1 (sharing) or 6 (RoPE)");
        Require(Enum.IsDefined(Options.MoRARankRule), nameof(PeftOptions.MoRARankRule), Options.MoRARankRule, "Paper (round(√d)), MoRA (round(√((k+d)·r))) or Floor (⌊√d⌋)");
        RequireRank();
        RequireDropout();
    }

    /// <summary>MoRA type 1 with r̂ = round(√d) (the paper rule).</summary>
    public MoRAMethod() : this(new PeftOptions()) { }

    /// <summary>MoRA of the given type (the <c>mora1</c>/<c>mora6</c> registry names).</summary>
    public static MoRAMethod OfType(PeftOptions options, int type)
    {
        var o = options.Clone();
        o.MoRAType = type;
        return new MoRAMethod(o);
    }

    /// <inheritdoc />
    public override string Name => Options.MoRAType is 1 or 6 ? $"MoRA{Options.MoRAType}" : "MoRA";

    /// <inheritdoc />
    public override string PeftType => "MORA";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> ConfigEntries => new Dictionary<string, object?>(base.ConfigEntries)
    {
        ["r"] = Options.Rank,
        ["use_mora"] = true,
        ["mora_type"] = Options.MoRAType,
        ["mora_rank_rule"] = Options.MoRARankRule.ToString(),
        ["lora_dropout"] = Options.Dropout,
    };

    /// <inheritdoc />
    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new MoRAAdapter(
            l.Layer,
            Options.MoRAType,
            MoRAAdapter.RankHatFor(l.Layer.in_features, l.Layer.out_features, Options.MoRAType, Options.MoRARankRule, Options.Rank),
            Options.Dropout)).ToList();
}
