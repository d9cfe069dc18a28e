using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.VeRA;

/// <summary>
/// The VeRA strategy: one <see cref="VeRAProjections"/> pair for the whole attach and one <see cref="VeRAAdapter"/>
/// per target layer. Reads Rank, ProjectionPrngKey, VeRADInitial, VeRASaveProjection, Dropout, TrainAllBiases.
/// </summary>
public sealed class VeRAMethod : PeftMethodBase
{
    /// <summary>VeRA with the given options.</summary>
    /// <exception cref="System.ArgumentException">Rank &lt; 1, Dropout outside [0, 1) or a non-finite VeRADInitial.</exception>
    public VeRAMethod(PeftOptions options) : base(options)
    {
        RequireRank();
        RequireDropout();
        Require(double.IsFinite(Options.VeRADInitial), nameof(PeftOptions.VeRADInitial), Options.VeRADInitial, "a finite number (PEFT's default 0.1)");
    }

    /// <summary>VeRA with default options (r = 1, key 0, d_initial 0.1).</summary>
    public VeRAMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "VeRA";

    /// <inheritdoc />
    public override string PeftType => "VERA";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> ConfigEntries => new Dictionary<string, object?>(base.ConfigEntries)
    {
        ["r"] = Options.Rank,
        ["projection_prng_key"] = Options.ProjectionPrngKey,
        ["d_initial"] = Options.VeRADInitial,
        ["vera_dropout"] = Options.Dropout,
        ["save_projection"] = Options.VeRASaveProjection,
        ["bias"] = Options.TrainAllBiases ? "all" : Options.TrainBiases ? "vera_only" : "none",
    };

    /// <inheritdoc />
    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers)
    {
        if (layers.Count == 0) return [];
        var projections = VeRAProjections.Create(layers, Options.Rank, Options.ProjectionPrngKey);
        return layers.Select(l => (LinearAdapter)new VeRAAdapter(l.Layer, projections, Options.VeRADInitial, Options.Dropout)).ToList();
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers) =>
        WithAllBiases(base.ExtraTrainableParameters(root, layers), root);
}
