using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Methods.LoRA;

/// <summary>The LoRA strategy: one <see cref="LoRAAdapter"/> per target layer. Reads Rank, Alpha, Dropout, UseRsLoRA.</summary>
public sealed class LoRAMethod : PeftMethodBase
{
    /// <summary>LoRA with the given options.</summary>
    /// <exception cref="System.ArgumentException">Rank &lt; 1, Alpha &lt; 0 or Dropout outside [0, 1).</exception>
    public LoRAMethod(PeftOptions options) : base(options) => ValidateLowRank(this);

    /// <summary>LoRA with default options (r = 1, α = r).</summary>
    public LoRAMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "LoRA";

    /// <inheritdoc />
    public override string PeftType => "LORA";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> ConfigEntries => LowRankConfig(Options, base.ConfigEntries, useDora: false);

    /// <inheritdoc />
    public override IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new LoRAAdapter(l.Layer, Options.Rank, Options.Scaling, Options.Dropout)).ToList();

    /// <summary>Checks the options LoRA and DoRA share.</summary>
    internal static void ValidateLowRank(PeftMethodBase method)
    {
        var o = method.Options;
        method.Require(o.Rank >= 1, nameof(PeftOptions.Rank), o.Rank, "an integer ≥ 1");
        method.Require(o.Alpha >= 0 && double.IsFinite(o.Alpha), nameof(PeftOptions.Alpha), o.Alpha, "a finite value ≥ 0 (0 means alpha = rank)");
        method.Require(o.Dropout >= 0 && o.Dropout < 1, nameof(PeftOptions.Dropout), o.Dropout, "a probability in [0, 1)");
    }

    /// <summary>PEFT's LoraConfig entries (alpha written as its effective value).</summary>
    internal static IReadOnlyDictionary<string, object?> LowRankConfig(PeftOptions o, IReadOnlyDictionary<string, object?> combinations, bool useDora)
    {
        return new Dictionary<string, object?>(combinations)
        {
            ["r"] = o.Rank,
            ["lora_alpha"] = o.Alpha == 0 ? o.Rank : o.Alpha,
            ["lora_dropout"] = o.Dropout,
            ["use_rslora"] = o.UseRsLoRA,
            ["use_dora"] = useDora,
            // PEFT's name for training the adapted layers' biases.
            ["bias"] = o.TrainBiases ? "lora_only" : "none",
        };
    }
}
