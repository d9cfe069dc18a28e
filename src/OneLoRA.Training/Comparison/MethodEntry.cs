using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Training.Cli;

namespace OneLoRA.Training.Comparison;

/// <summary>What a <c>+</c> combination of a method entry turns on.</summary>
public enum Combination
{
    /// <summary><c>norms</c>: also train the LayerNorms.</summary>
    Norms,
    /// <summary><c>biases</c> (or <c>beta</c>, <c>β</c>): also train the adapted layers' biases (the paper's β).</summary>
    Biases,
    /// <summary><c>scale</c> (or <c>gamma</c>, <c>γ</c>): also train a per-output scale γ.</summary>
    Scale,
    /// <summary><c>random</c>: 1LoRA with a fixed random compression vector instead of ones (Table S1).</summary>
    Random,
    /// <summary><c>qkv</c>: adapt only the attention's query, key and value Linears.</summary>
    Qkv,
    /// <summary><c>type1</c>: MoRA type 1 (sharing).</summary>
    Type1,
    /// <summary><c>type6</c>: MoRA type 6 (RoPE).</summary>
    Type6,
}

/// <summary>
/// One entry of <c>--methods</c>: a method name or alias, then combinations joined with <c>+</c>, e.g.
/// <c>onelora+norms</c>, <c>none+biases</c> (β alone), <c>lora+qkv</c>, <c>mora+type6</c>. The grammar both jobs share.
/// </summary>
/// <param name="Method">The method name as written.</param>
/// <param name="Combinations">The combinations, in the order written.</param>
public sealed record MethodEntry(string Method, IReadOnlyList<Combination> Combinations)
{
    private static readonly Dictionary<string, Combination> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["norms"] = Combination.Norms,
        ["biases"] = Combination.Biases, ["beta"] = Combination.Biases, ["β"] = Combination.Biases,
        ["scale"] = Combination.Scale, ["gamma"] = Combination.Scale, ["γ"] = Combination.Scale,
        ["random"] = Combination.Random,
        ["qkv"] = Combination.Qkv,
        ["type1"] = Combination.Type1,
        ["type6"] = Combination.Type6,
    };

    /// <summary>True when <paramref name="combination"/> was written.</summary>
    public bool Has(Combination combination) => Combinations.Contains(combination);

    /// <summary>Reads an entry.</summary>
    /// <exception cref="OptionException">Empty, an unknown combination, or one written twice; the message names the entry.</exception>
    public static MethodEntry Parse(string entry)
    {
        var parts = entry.Split('+', StringSplitOptions.TrimEntries);
        if (parts[0].Length == 0) throw new OptionException($"--methods entry '{entry}': no method name before the first '+'.");
        var combinations = new List<Combination>();
        foreach (var part in parts.Skip(1))
        {
            if (!Names.TryGetValue(part, out var combination))
                throw new OptionException($"--methods entry '{entry}': unknown combination '{part}'; use norms, biases (β), scale (γ), random, qkv, type1 or type6 (e.g. onelora+norms).");
            if (combinations.Contains(combination)) throw new OptionException($"--methods entry '{entry}': '{part}' is given twice.");
            combinations.Add(combination);
        }
        if (combinations.Contains(Combination.Type1) && combinations.Contains(Combination.Type6))
            throw new OptionException($"--methods entry '{entry}': type1 and type6 exclude each other.");
        return new MethodEntry(parts[0], combinations);
    }

    /// <summary>The comma-separated list of <c>--methods</c>.</summary>
    /// <exception cref="OptionException">The list is empty.</exception>
    public static IReadOnlyList<string> SplitList(string list)
    {
        var entries = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (entries.Length == 0) throw new OptionException("--methods: give at least one method.");
        return entries;
    }
}
