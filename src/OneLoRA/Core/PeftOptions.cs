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

    /// <summary>Target globs (see <see cref="PeftAttribute.Targets"/>). Default <c>*</c>.</summary>
    public string Targets { get; set; } = "*";

    /// <summary>Exclude globs. Default none.</summary>
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

    /// <summary>Effective LoRA/DoRA scaling: alpha/r, or alpha/√r with rsLoRA; alpha 0 means alpha = r.</summary>
    public double Scaling
    {
        get
        {
            double alpha = Alpha == 0 ? Rank : Alpha;
            return UseRsLoRA ? alpha / System.Math.Sqrt(Rank) : alpha / Rank;
        }
    }

    /// <summary>A copy (options are mutable for binding; methods keep their own copy).</summary>
    public PeftOptions Clone() => (PeftOptions)MemberwiseClone();
}
