using System;
using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Pretrained;

/// <summary>
/// The checkpoint does not fit the model. Every problem is listed at once (model parameters without a source,
/// unused source tensors, shape and dtype mismatches, two sources for one parameter), and the model is unchanged.
/// </summary>
public sealed class PretrainedLoadException : Exception
{
    internal PretrainedLoadException(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unused,
        IReadOnlyList<string> mismatched, IReadOnlyList<string> duplicates)
        : base(Format(source, missing, unused, mismatched, duplicates))
    {
        Missing = missing;
        Unused = unused;
        Mismatched = mismatched;
        Duplicates = duplicates;
    }

    /// <summary>Model parameters (their names in the model) that no source tensor maps to.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Source tensors (their checkpoint names, with the mapped name) that map to no parameter and are not ignored.</summary>
    public IReadOnlyList<string> Unused { get; }

    /// <summary>Shape or dtype mismatches: <c>name: model [..] float32, source [..] float16 (origin)</c>.</summary>
    public IReadOnlyList<string> Mismatched { get; }

    /// <summary>Model parameters that more than one source tensor maps to.</summary>
    public IReadOnlyList<string> Duplicates { get; }

    private static string Format(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unused,
        IReadOnlyList<string> mismatched, IReadOnlyList<string> duplicates)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"{missing.Count} model parameter(s) without a source: {string.Join(", ", missing)}");
        if (unused.Count > 0) parts.Add($"{unused.Count} unused source tensor(s): {string.Join(", ", unused)}");
        if (mismatched.Count > 0) parts.Add($"{mismatched.Count} mismatch(es): {string.Join("; ", mismatched)}");
        if (duplicates.Count > 0) parts.Add($"{duplicates.Count} parameter(s) with several sources: {string.Join("; ", duplicates)}");
        return $"Cannot load {source}: {string.Join(". ", parts)}. Nothing was copied.";
    }

    internal static bool Any(params IReadOnlyList<string>[] lists) => lists.Any(l => l.Count > 0);
}
