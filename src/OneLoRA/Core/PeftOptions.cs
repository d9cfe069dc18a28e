using System.Collections.Generic;
using OneLoRA.Targeting;

namespace OneLoRA;

/// <summary>
/// Every option of every built-in method in one bindable bag (configuration section <c>"Peft"</c>, the
/// <see cref="PeftAttribute"/>'s named arguments, command lines). Each method reads the options it has.
/// Defaults are the paper's very-low-rank regime.
/// </summary>
public sealed class PeftOptions
{
    /// <summary>Method name or alias (see <see cref="PeftMethods"/>). Default <c>OneLoRA</c>.</summary>
    public string Method { get; set; } = nameof(OneLoRA.Method.OneLoRA);

    /// <summary>
    /// Target globs (see <see cref="PeftAttribute.Targets"/>). Default <c>*</c>. Runtime attach
    /// (<see cref="PeftModel.Attach(TorchSharp.torch.nn.Module, PeftOptions)"/>) also takes PEFT's <c>all-linear</c> (every Linear
    /// layer) and <c>regex:&lt;pattern&gt;</c> (a .NET regex matching the whole dotted path, PEFT's string form of target_modules).
    /// </summary>
    public string Targets { get; set; } = "*";

    /// <summary>Exclude globs (runtime attach also takes <c>regex:&lt;pattern&gt;</c>). Default none.</summary>
    public string Exclude { get; set; } = "";

    /// <summary>Rank r (LoRA, DoRA, VeRA, MoRA's own r̂ rule). Range 1.. Default 1.</summary>
    public int Rank { get; set; } = 1;

    /// <summary>LoRA/DoRA alpha; 0 means alpha = rank. Range ≥ 0.</summary>
    public double Alpha { get; set; }

    /// <summary>Adapter-branch dropout probability, range [0, 1).</summary>
    public double Dropout { get; set; }

    /// <summary>rsLoRA scaling alpha/√r instead of alpha/r.</summary>
    public bool UseRsLoRA { get; set; }

    /// <summary>Also train LayerNorm weights and biases.</summary>
    public bool TrainNorms { get; set; }

    /// <summary>Also train the biases of the adapted layers.</summary>
    public bool TrainBiases { get; set; }

    /// <summary>Also train a per-output scale γ on each adapted layer.</summary>
    public bool TrainScale { get; set; }

    /// <summary>1LoRA: compress with a fixed random vector instead of ones (paper Table S1).</summary>
    public bool RandomCompression { get; set; }

    /// <summary>1LoRA: seed of the random compression vector.</summary>
    public long CompressionSeed { get; set; }

    /// <summary>MoRA type, 1 (sharing) or 6 (RoPE).</summary>
    public int MoRAType { get; set; } = 1;

    /// <summary>MoRA r̂ rule.</summary>
    public MoRARankRule MoRARankRule { get; set; } = MoRARankRule.Paper;

    /// <summary>VeRA projection seed.</summary>
    public long ProjectionPrngKey { get; set; }

    /// <summary>VeRA initial λ_d.</summary>
    public double VeRADInitial { get; set; } = 0.1;

    /// <summary>
    /// PEFT's <c>rank_pattern</c> (LoRA, DoRA): per-layer ranks; the first key (in order) whose regex <c>(.*\.)?(key)$</c>
    /// matches a layer's path gives its rank. Files store keys sorted, as PEFT does, so keys should not overlap.
    /// </summary>
    public Dictionary<string, int> RankPattern { get; set; } = [];

    /// <summary>PEFT's <c>alpha_pattern</c> (LoRA, DoRA): per-layer alphas, matched as <see cref="RankPattern"/>. Alpha 0 means alpha = <see cref="Rank"/>.</summary>
    public Dictionary<string, double> AlphaPattern { get; set; } = [];

    /// <summary>
    /// PEFT's <c>bias = "all"</c>: train every bias of the model (not only the adapted layers', which is
    /// <see cref="TrainBiases"/>, PEFT's <c>lora_only</c>). LoRA, DoRA and VeRA.
    /// </summary>
    public bool TrainAllBiases { get; set; }

    /// <summary>
    /// PEFT's <c>modules_to_save</c>, <c>;</c>-separated: modules (a dotted path or a path suffix) trained in full and saved
    /// with the adapters; never adapted. Applied by runtime attach, <see cref="PeftModel.FromPretrained"/> and generated
    /// <c>AttachAdapters(method)</c> (from the method's options, through <see cref="PeftRuntime.Attach"/>).
    /// </summary>
    public string ModulesToSave { get; set; } = "";

    /// <summary>PEFT's <c>layers_to_transform</c>: adapt only layers with these indices (runtime and generated attach; see <see cref="PeftTargets"/>).</summary>
    public int[] LayersToTransform { get; set; } = [];

    /// <summary>PEFT's <c>layers_pattern</c>, <c>;</c>-separated names of the layer list (e.g. <c>layers</c>); empty: any name.</summary>
    public string LayersPattern { get; set; } = "";

    /// <summary>VeRA: write the projections into the adapter file (PEFT's <c>save_projection</c>); false regenerates them from <see cref="ProjectionPrngKey"/> on load.</summary>
    public bool VeRASaveProjection { get; set; } = true;

    /// <summary>The rank of the layer at <paramref name="path"/>: <see cref="RankPattern"/>'s match, else <see cref="Rank"/>.</summary>
    public int RankFor(string path) => PeftPatterns.Lookup(RankPattern, path) ?? Rank;

    /// <summary>LoRA/DoRA scaling of the layer at <paramref name="path"/>; the LoRA family owns it now.</summary>
    [System.Obsolete("Use LowRankMethod.ScalingFor(options, path).")]
    public double ScalingFor(string path) => LowRankMethod.ScalingFor(this, path);

    /// <summary>Effective LoRA/DoRA scaling; the LoRA family owns it now.</summary>
    [System.Obsolete("Use LowRankMethod.Scaling(options).")]
    public double Scaling => LowRankMethod.Scaling(this);

    /// <summary>A copy (options are mutable for binding; methods keep their own copy).</summary>
    public PeftOptions Clone()
    {
        var copy = (PeftOptions)MemberwiseClone();
        copy.RankPattern = new Dictionary<string, int>(RankPattern ?? []);
        copy.AlphaPattern = new Dictionary<string, double>(AlphaPattern ?? []);
        copy.LayersToTransform = [.. LayersToTransform ?? []];
        return copy;
    }
}
