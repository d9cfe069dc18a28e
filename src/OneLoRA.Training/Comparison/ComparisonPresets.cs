using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Training.Cli;

namespace OneLoRA.Training.Comparison;

/// <summary>
/// The paper's comparisons as named method lists for <c>compare --preset</c>:
/// <list type="bullet">
/// <item><c>main</c>: the job's default list (the main tables, S2–S10);</item>
/// <item><c>combos</c>: Tables S11/S12: norms, β, γ, DiffFit, 1LoRA and 1LoRA with every mix of β, γ and norms
/// (norms, β and γ alone are the <c>None</c> method with that combination);</item>
/// <item><c>compression</c>: Table S1: 1LoRA with the summation (ones) against a fixed random compression vector;</item>
/// <item><c>budget</c>: the paper's Fig. 4 argument: LoRA on the attention's q, k, v only against 1LoRA on every
/// Linear, with their memory side by side (Tables S6/S7's "LoRA (QKV)").</item>
/// </list>
/// </summary>
public static class ComparisonPresets
{
    /// <summary>The preset names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["main", "combos", "compression", "budget"];

    /// <summary>
    /// The main tables' methods (Tables S2–S10) that both jobs use for <c>--preset main</c>: the head-only baseline
    /// (<c>head</c>), 1LoRA, 1LoRA with norms, LoRA, VeRA, DoRA, MoRA types 1 and 6, BitFit, DiffFit and full
    /// fine-tuning, less any method that is not registered.
    /// </summary>
    public static IReadOnlyList<string> Main =>
        new[] { "head", "onelora", "onelora+norms", "lora", "vera", "dora", "mora", "mora+type6", "bitfit", "difffit", "full" }
            .Where(m => m == "head" || PeftMethods.TryResolve(m.Split('+')[0], out _)).ToList();

    /// <summary>Tables S11/S12, in the paper's row order.</summary>
    public static IReadOnlyList<string> Combos { get; } =
    [
        "none+norms", "none+biases", "none+scale", "difffit", "onelora", "onelora+biases", "onelora+norms", "onelora+scale",
        "onelora+biases+norms", "onelora+biases+scale", "onelora+scale+norms", "onelora+biases+scale+norms",
    ];

    /// <summary>Table S1.</summary>
    public static IReadOnlyList<string> Compression { get; } = ["onelora", "onelora+random"];

    /// <summary>Fig. 4 / Tables S6–S7.</summary>
    public static IReadOnlyList<string> Budget { get; } = ["lora+qkv", "onelora"];

    /// <summary>The method entries of <paramref name="preset"/>; <c>main</c> is <paramref name="main"/>.</summary>
    /// <exception cref="OptionException">Unknown preset.</exception>
    public static IReadOnlyList<string> Expand(string preset, IReadOnlyList<string> main) => preset.ToLowerInvariant() switch
    {
        "main" => main.ToList(),
        "combos" => Combos,
        "compression" => Compression,
        "budget" => Budget,
        _ => throw new OptionException($"--preset {preset}: unknown preset; use {string.Join(", ", Names)}."),
    };

    /// <summary>
    /// The method entries of a compare command line: <c>--methods</c> when given, else the preset's (default <c>main</c>).
    /// </summary>
    /// <exception cref="OptionException">Both were given, the preset is unknown, or the list is empty.</exception>
    public static IReadOnlyList<string> Resolve(string? methods, string? preset, IReadOnlyList<string> main)
    {
        if (methods is not null && preset is not null) throw new OptionException("--methods and --preset both given; give one (--preset names a method list).");
        return methods is not null ? MethodEntry.SplitList(methods) : Expand(preset ?? "main", main);
    }
}
