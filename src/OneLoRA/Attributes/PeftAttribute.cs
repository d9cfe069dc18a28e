using System;

namespace OneLoRA;

/// <summary>
/// Marks a partial TorchSharp module class for compile-time adapter wiring. The OneLoRA source generator
/// emits <c>AttachAdapters</c>, <c>MergeAdapters</c>, <c>UnmergeAdapters</c> and interceptors that route
/// <c>layer.forward(x)</c> / <c>layer.call(x)</c> on adapted members through the adapter.
/// </summary>
/// <remarks>
/// Candidates are the class's <c>Linear</c> fields and properties (single layers, arrays and
/// <c>ModuleList&lt;Linear&gt;</c>). <see cref="Targets"/> and <see cref="Exclude"/> are <c>;</c>-separated globs
/// (<c>*</c> any run of characters, <c>?</c> one character, case-sensitive) matched against the member name
/// and against the member's layer type name; a member is adapted when some target glob matches either name
/// and no exclude glob does. Members typed as other <c>[Peft]</c> classes are attached recursively.
/// Options a method does not use are ignored by it (analyzer OLORA005 flags them).
/// </remarks>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class PeftAttribute : Attribute
{
    /// <summary>Uses a built-in method.</summary>
    public PeftAttribute(Method method) => MethodName = method.ToString();

    /// <summary>Uses a method by registered name (built-in names and aliases, or a plugin registered in DI).</summary>
    public PeftAttribute(string methodName) => MethodName = methodName;

    /// <summary>The method's name as written (built-in enum name, alias or plugin name).</summary>
    public string MethodName { get; }

    /// <summary>Target globs; default <c>*</c> (every Linear member).</summary>
    public string Targets { get; set; } = "*";

    /// <summary>Exclude globs; default none.</summary>
    public string Exclude { get; set; } = "";

    /// <summary>Rank r for LoRA, DoRA, VeRA and MoRA's own rule. Default 1, the paper's very-low-rank regime.</summary>
    public int Rank { get; set; } = 1;

    /// <summary>LoRA/DoRA alpha; scaling is alpha/r (alpha/√r with <see cref="UseRsLoRA"/>). 0 means alpha = rank (scaling 1).</summary>
    public double Alpha { get; set; }

    /// <summary>Dropout on the adapter branch (LoRA, DoRA, VeRA). Default 0.</summary>
    public double Dropout { get; set; }

    /// <summary>rsLoRA scaling alpha/√r.</summary>
    public bool UseRsLoRA { get; set; }

    /// <summary>Also train the norm layers (LayerNorm weight and bias) — e.g. "1LoRA (norms)".</summary>
    public bool TrainNorms { get; set; }

    /// <summary>Also train the biases of the adapted layers.</summary>
    public bool TrainBiases { get; set; }

    /// <summary>Also train a per-output scale γ (DiffFit's γ) on every adapted layer.</summary>
    public bool TrainScale { get; set; }

    /// <summary>1LoRA ablation (paper Table S1): compress with a fixed random vector instead of ones.</summary>
    public bool RandomCompression { get; set; }

    /// <summary>Seed of the random compression vector.</summary>
    public long CompressionSeed { get; set; }

    /// <summary>MoRA type: 1 (sharing) or 6 (RoPE).</summary>
    public int MoRAType { get; set; } = 1;

    /// <summary>MoRA r̂ rule.</summary>
    public MoRARankRule MoRARankRule { get; set; } = MoRARankRule.Paper;

    /// <summary>VeRA projection seed (PEFT's projection_prng_key).</summary>
    public long ProjectionPrngKey { get; set; }

    /// <summary>VeRA initial value of λ_d (PEFT's d_initial).</summary>
    public double VeRADInitial { get; set; } = 0.1;
}

/// <summary>Keeps a Linear member of a <see cref="PeftAttribute"/> class frozen and un-adapted, deliberately (silences OLORA001).</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
public sealed class NoPeftAttribute : Attribute
{
}
