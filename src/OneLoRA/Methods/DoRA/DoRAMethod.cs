using System.Collections.Generic;
using System.Linq;
using OneLoRA.Methods.LoRA;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.DoRA;

/// <summary>
/// The DoRA strategy: one <see cref="DoRAAdapter"/> per target layer. Reads Rank, Alpha, Dropout, UseRsLoRA, RankPattern, AlphaPattern, TrainAllBiases.
/// Saved as PEFT does: <c>peft_type</c> LORA with <c>use_dora</c> true.
/// </summary>
public sealed class DoRAMethod : PeftMethodBase
{
    /// <summary>DoRA with the given options.</summary>
    /// <exception cref="System.ArgumentException">Rank &lt; 1, Alpha &lt; 0 or Dropout outside [0, 1).</exception>
    public DoRAMethod(PeftOptions options) : base(options) => LoRAMethod.ValidateLowRank(this);

    /// <summary>DoRA with default options (r = 1, α = r).</summary>
    public DoRAMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "DoRA";

    /// <inheritdoc />
    public override string PeftType => "LORA";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> ConfigEntries => LoRAMethod.LowRankConfig(Options, base.ConfigEntries, useDora: true);

    /// <inheritdoc />
    public override IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new DoRAAdapter(l.Layer, Options.RankFor(l.Path), Options.ScalingFor(l.Path), Options.Dropout)).ToList();

    /// <inheritdoc />
    public override IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers) =>
        LoRAMethod.WithAllBiases(Options, base.ExtraTrainableParameters(root, layers), root);
}
