using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace OneLoRA.Pretrained;

/// <summary>
/// Maps checkpoint tensor names to model parameter names: first the source tensors to ignore are dropped (by regex),
/// then a prefix is stripped, then the rename rules run in order (each a regex replacement over the whole name).
/// Immutable: every method returns a new map.
/// </summary>
public sealed class NameMap
{
    private readonly IReadOnlyList<string> prefixes;
    private readonly IReadOnlyList<(Regex Pattern, string Replacement)> renames;
    private readonly IReadOnlyList<Regex> ignores;

    private NameMap(IReadOnlyList<string> prefixes, IReadOnlyList<(Regex, string)> renames, IReadOnlyList<Regex> ignores)
    {
        this.prefixes = prefixes;
        this.renames = renames;
        this.ignores = ignores;
    }

    /// <summary>The identity map: names are used as they are, nothing is ignored.</summary>
    public static NameMap Identity { get; } = new([], [], []);

    /// <summary>Also strips <paramref name="prefix"/> (e.g. <c>"bert."</c>) from names that start with it.</summary>
    public NameMap StripPrefix(string prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        return new([.. prefixes, prefix], renames, ignores);
    }

    /// <summary>Also replaces every match of the regex <paramref name="pattern"/> by <paramref name="replacement"/> (<c>$1</c> etc. allowed).</summary>
    /// <exception cref="ArgumentException">The pattern is not a valid regular expression.</exception>
    public NameMap Rename(string pattern, string replacement)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        return new(prefixes, [.. renames, (new Regex(pattern, RegexOptions.CultureInvariant), replacement)], ignores);
    }

    /// <summary>Also ignores source tensors whose checkpoint name matches the regex <paramref name="pattern"/> (reported as ignored, not as unused).</summary>
    public NameMap Ignore(string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        return new(prefixes, renames, [.. ignores, new Regex(pattern, RegexOptions.CultureInvariant)]);
    }

    /// <summary>Whether a source tensor of this checkpoint name is deliberately left out.</summary>
    public bool IsIgnored(string sourceName)
    {
        foreach (var r in ignores)
            if (r.IsMatch(sourceName)) return true;
        return false;
    }

    /// <summary>The model parameter name for a checkpoint name.</summary>
    public string Map(string sourceName)
    {
        var name = sourceName;
        foreach (var p in prefixes)
            if (name.StartsWith(p, StringComparison.Ordinal)) { name = name[p.Length..]; break; }
        foreach (var (pattern, replacement) in renames)
            name = pattern.Replace(name, replacement);
        return name;
    }
}
