using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.LoRA;

/// <summary>
/// The LoRA strategy: one <see cref="LoRAAdapter"/> per target layer. Reads Rank, Alpha, Dropout, UseRsLoRA, RankPattern,
/// AlphaPattern (per-layer rank and alpha, as PEFT) and TrainAllBiases (PEFT's <c>bias = "all"</c>).
/// </summary>
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
        layers.Select(l => (LinearAdapter)new LoRAAdapter(l.Layer, Options.RankFor(l.Path), Options.ScalingFor(l.Path), Options.Dropout)).ToList();

    /// <inheritdoc />
    public override IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers) =>
        WithAllBiases(Options, base.ExtraTrainableParameters(root, layers), root);

    /// <summary>The base extras plus, with <see cref="PeftOptions.TrainAllBiases"/>, every bias of the model (PEFT's <c>bias = "all"</c>).</summary>
    internal static IEnumerable<(string Name, Parameter Parameter)> WithAllBiases(PeftOptions o, IEnumerable<(string Name, Parameter Parameter)> extras, nn.Module root)
    {
        var result = extras.ToList();
        if (!o.TrainAllBiases) return result;
        var seen = result.Select(e => e.Name).ToHashSet();
        var adapterOwned = new HashSet<System.IntPtr>();
        foreach (var (_, module) in root.named_modules())
            if (module is LinearAdapter adapter)
                foreach (var p in adapter.parameters()) adapterOwned.Add(p.Handle);
        foreach (var (name, p) in root.named_parameters())
            if ((name == "bias" || name.EndsWith(".bias", System.StringComparison.Ordinal)) && !adapterOwned.Contains(p.Handle) && seen.Add(name))
                result.Add((name, p));
        return result;
    }

    /// <summary>Checks the options LoRA and DoRA share.</summary>
    internal static void ValidateLowRank(PeftMethodBase method)
    {
        var o = method.Options;
        method.Require(o.Rank >= 1, nameof(PeftOptions.Rank), o.Rank, "an integer ≥ 1");
        method.Require(o.Alpha >= 0 && double.IsFinite(o.Alpha), nameof(PeftOptions.Alpha), o.Alpha, "a finite value ≥ 0 (0 means alpha = rank)");
        method.Require(o.Dropout >= 0 && o.Dropout < 1, nameof(PeftOptions.Dropout), o.Dropout, "a probability in [0, 1)");
        foreach (var (key, r) in o.RankPattern)
            method.Require(r >= 1, $"{nameof(PeftOptions.RankPattern)}[{key}]", r, "an integer ≥ 1");
        foreach (var (key, a) in o.AlphaPattern)
            method.Require(a >= 0 && double.IsFinite(a), $"{nameof(PeftOptions.AlphaPattern)}[{key}]", a, "a finite value ≥ 0");
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
            ["rank_pattern"] = new SortedDictionary<string, int>(o.RankPattern, System.StringComparer.Ordinal),
            ["alpha_pattern"] = new SortedDictionary<string, double>(o.AlphaPattern, System.StringComparer.Ordinal),
            // PEFT's names for training the adapted layers' biases, or every bias.
            ["bias"] = o.TrainAllBiases ? "all" : o.TrainBiases ? "lora_only" : "none",
        };
    }
}
