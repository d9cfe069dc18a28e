using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Targeting;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// The LoRA family's strategy (LoRA, DoRA): one <see cref="LowRankAdapter"/> per target layer, with PEFT's LoraConfig
/// options. Reads Rank, Alpha, Dropout, UseRsLoRA, RankPattern, AlphaPattern (per-layer rank and alpha, as PEFT) and
/// TrainAllBiases (PEFT's <c>bias = "all"</c>); saved as PEFT does, <c>peft_type</c> LORA with <c>use_dora</c>.
/// </summary>
public abstract class LowRankMethod : PeftMethodBase
{
    /// <summary>Validates the options the family shares.</summary>
    /// <exception cref="ArgumentException">Rank &lt; 1, Alpha &lt; 0, Dropout outside [0, 1), or a pattern entry out of range.</exception>
    protected LowRankMethod(PeftOptions options) : base(options)
    {
        var o = Options;
        RequireRank();
        Require(o.Alpha >= 0 && double.IsFinite(o.Alpha), nameof(PeftOptions.Alpha), o.Alpha, "a finite value ≥ 0 (0 means alpha = rank)");
        RequireDropout();
        foreach (var (key, r) in o.RankPattern)
            Require(r >= 1, $"{nameof(PeftOptions.RankPattern)}[{key}]", r, "an integer ≥ 1");
        foreach (var (key, a) in o.AlphaPattern)
            Require(a >= 0 && double.IsFinite(a), $"{nameof(PeftOptions.AlphaPattern)}[{key}]", a, "a finite value ≥ 0");
    }

    /// <inheritdoc />
    public override string PeftType => "LORA";

    /// <summary>PEFT's <c>use_dora</c>: true for DoRA.</summary>
    protected abstract bool UseDora { get; }

    /// <summary>The method's adapter on one layer with its rank and scaling.</summary>
    protected abstract LowRankAdapter CreateAdapter(Linear layer, int rank, double scaling);

    /// <summary>
    /// s for the layer at <paramref name="path"/>: α/r, or α/√r with rsLoRA, with <see cref="PeftOptions.RankPattern"/> and
    /// <see cref="PeftOptions.AlphaPattern"/> applied; alpha 0 means alpha = <see cref="PeftOptions.Rank"/>.
    /// </summary>
    public static double ScalingFor(PeftOptions options, string path)
    {
        ArgumentNullException.ThrowIfNull(options);
        int r = options.RankFor(path);
        double alpha = PeftPatterns.Lookup(options.AlphaPattern, path) ?? (options.Alpha == 0 ? options.Rank : options.Alpha);
        return options.UseRsLoRA ? alpha / Math.Sqrt(r) : alpha / r;
    }

    /// <summary>s of a layer no pattern matches: α/r, or α/√r with rsLoRA; alpha 0 means alpha = r.</summary>
    public static double Scaling(PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        double alpha = options.Alpha == 0 ? options.Rank : options.Alpha;
        return options.UseRsLoRA ? alpha / Math.Sqrt(options.Rank) : alpha / options.Rank;
    }

    /// <inheritdoc />
    protected sealed override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)CreateAdapter(l.Layer, Options.RankFor(l.Path), ScalingFor(Options, l.Path))).ToList();

    /// <inheritdoc />
    public override IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers) =>
        WithAllBiases(base.ExtraTrainableParameters(root, layers), root);

    /// <summary>PEFT's LoraConfig entries (alpha written as its effective value).</summary>
    public override IReadOnlyDictionary<string, object?> ConfigEntries
    {
        get
        {
            var o = Options;
            return new Dictionary<string, object?>(base.ConfigEntries)
            {
                ["r"] = o.Rank,
                ["lora_alpha"] = o.Alpha == 0 ? o.Rank : o.Alpha,
                ["lora_dropout"] = o.Dropout,
                ["use_rslora"] = o.UseRsLoRA,
                ["use_dora"] = UseDora,
                ["rank_pattern"] = new SortedDictionary<string, int>(o.RankPattern, StringComparer.Ordinal),
                ["alpha_pattern"] = new SortedDictionary<string, double>(o.AlphaPattern, StringComparer.Ordinal),
                // PEFT's names for training the adapted layers' biases, or every bias.
                ["bias"] = o.TrainAllBiases ? "all" : o.TrainBiases ? "lora_only" : "none",
            };
        }
    }
}
