using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace OneLoRA.Targeting;

/// <summary>
/// HF PEFT's module-selection rule (<c>tuners_utils.check_target_module_exists</c>), applied to dotted layer paths:
/// <list type="bullet">
/// <item><c>target_modules</c> as a list: a path is targeted when it equals an entry or ends with <c>"." + entry</c>;
/// as a string: when the regex matches the whole path; <c>"all-linear"</c>: every Linear layer.</item>
/// <item><c>exclude_modules</c> the same way (list: equal or suffix; string: whole-path regex).</item>
/// <item>Modules to save are never targets (PEFT's <c>(^|.*\.)m($|\..*)</c> rule).</item>
/// <item><c>layers_to_transform</c> (list and all-linear only, as in PEFT): the layer index is the number after
/// <c>&lt;layers_pattern&gt;.</c> (any name when no pattern) that is itself preceded by a dot, e.g. <c>model.layers.3.q</c> →
/// 3. A root-level list (<c>blocks.3.q</c>) has no dot before its name, so PEFT finds no index and targets nothing there.</item>
/// </list>
/// </summary>
public sealed class PeftTargets
{
    /// <summary>PEFT's shorthand for every Linear layer.</summary>
    public const string AllLinear = "all-linear";

    private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<string>? list;
    private readonly Regex? regex;
    private readonly IReadOnlyList<string>? excludeList;
    private readonly Regex? excludeRegex;
    private readonly IReadOnlyList<Regex> modulesToSave;
    private readonly IReadOnlyList<Regex>? layerIndex;

    private PeftTargets(IReadOnlyList<string>? list, Regex? regex, bool allLinear, IReadOnlyList<string>? excludeList, Regex? excludeRegex,
        IReadOnlyList<string> modulesToSave, IReadOnlyList<int> layersToTransform, IReadOnlyList<string> layersPattern)
    {
        this.list = list;
        this.regex = regex;
        IsAllLinear = allLinear;
        this.excludeList = excludeList;
        this.excludeRegex = excludeRegex;
        ModulesToSave = modulesToSave;
        this.modulesToSave = modulesToSave.Select(m => new Regex($@"^(?:|.*\.){m}(?:$|\..*)$", RegexOptions.CultureInvariant | RegexOptions.Singleline, RegexTimeout)).ToList();
        LayersToTransform = layersToTransform;
        if (layersToTransform.Count > 0)
            layerIndex = layersPattern.Count == 0
                ? [new Regex(@"^.*\.[^.]*\.(\d+)\.", RegexOptions.CultureInvariant | RegexOptions.Singleline, RegexTimeout)]
                : layersPattern.Select(p => new Regex($@"^.*\.{p}\.(\d+)\.", RegexOptions.CultureInvariant | RegexOptions.Singleline, RegexTimeout)).ToList();
    }

    /// <summary>True for <c>"all-linear"</c>.</summary>
    public bool IsAllLinear { get; }

    /// <summary>The module names whose modules are trained in full (never targets).</summary>
    public IReadOnlyList<string> ModulesToSave { get; }

    /// <summary>Layer indices to adapt (empty: all).</summary>
    public IReadOnlyList<int> LayersToTransform { get; }

    /// <summary>
    /// Builds the rule. <paramref name="targets"/> is a list of names, or a single regex / <c>"all-linear"</c> when
    /// <paramref name="targetsAreRegex"/>; the same for <paramref name="exclude"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A regex does not parse.</exception>
    public static PeftTargets Create(IReadOnlyList<string> targets, bool targetsAreRegex, IReadOnlyList<string> exclude, bool excludeIsRegex,
        IReadOnlyList<string> modulesToSave, IReadOnlyList<int> layersToTransform, IReadOnlyList<string> layersPattern)
    {
        bool allLinear = targetsAreRegex && targets.Count == 1 && string.Equals(targets[0], AllLinear, StringComparison.OrdinalIgnoreCase);
        Regex? regex = targetsAreRegex && !allLinear ? Whole(string.Join("|", targets), "target_modules") : null;
        Regex? excludeRegex = excludeIsRegex && exclude.Count > 0 ? Whole(string.Join("|", exclude), "exclude_modules") : null;
        return new PeftTargets(targetsAreRegex ? null : targets, regex, allLinear, excludeIsRegex ? null : exclude, excludeRegex,
            modulesToSave, layersToTransform, layersPattern);
    }

    /// <summary>True when PEFT would put an adapter on the Linear layer at <paramref name="path"/>.</summary>
    public bool Selects(string path)
    {
        if (excludeRegex is not null && excludeRegex.IsMatch(path)) return false;
        if (excludeList is not null && excludeList.Any(e => path == e || path.EndsWith("." + e, StringComparison.Ordinal))) return false;
        if (modulesToSave.Any(m => m.IsMatch(path))) return false;
        if (regex is not null) return regex.IsMatch(path);
        if (list is not null && list.Contains(path, StringComparer.Ordinal)) return true;
        bool found = IsAllLinear || (list is not null && list.Any(t => path.EndsWith("." + t, StringComparison.Ordinal)));
        if (!found || layerIndex is null) return found;
        return LayerIndexOf(path) is { } index && LayersToTransform.Contains(index);
    }

    /// <summary>The filters after the target match: not a module to save, and (with layers_to_transform) a listed layer index.</summary>
    public bool Passes(string path) =>
        !modulesToSave.Any(m => m.IsMatch(path)) && (layerIndex is null || (LayerIndexOf(path) is { } index && LayersToTransform.Contains(index)));

    /// <summary>True when PEFT's modules_to_save rule (<c>(^|.*\.)m($|\..*)</c>) keeps the layer at <paramref name="path"/> from being a target.</summary>
    public bool IsModuleToSavePath(string path) => modulesToSave.Any(m => m.IsMatch(path));

    /// <summary>True when the module at <paramref name="path"/> is one PEFT's <c>modules_to_save</c> names (the path or a suffix).</summary>
    public bool IsModuleToSave(string path) =>
        ModulesToSave.Any(m => path == m || path.EndsWith("." + m, StringComparison.Ordinal));

    private int? LayerIndexOf(string path)
    {
        // PEFT matches "<key>." against the pattern, so the index may sit at the end of the path's prefix.
        foreach (var r in layerIndex!)
            if (r.Match(path) is { Success: true } m && int.TryParse(m.Groups[1].Value, out var index)) return index;
        return null;
    }

    private static Regex Whole(string pattern, string field)
    {
        try
        {
            return new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant | RegexOptions.Singleline, RegexTimeout);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{field} regex '{pattern}' does not parse: {e.Message}", field, e);
        }
    }
}

/// <summary>PEFT's <c>rank_pattern</c>/<c>alpha_pattern</c> lookup (<c>get_pattern_key</c>): the first key <c>k</c>, in order, with <c>(.*\.)?(k)$</c> matching the path.</summary>
public static class PeftPatterns
{
    /// <summary>The value of the first pattern that matches <paramref name="path"/>, or null.</summary>
    /// <exception cref="ArgumentException">A pattern does not parse as a regex.</exception>
    public static T? Lookup<T>(IEnumerable<KeyValuePair<string, T>> patterns, string path) where T : struct
    {
        foreach (var (key, value) in patterns)
        {
            Regex r;
            try { r = new Regex($@"^(?:.*\.)?(?:{key})$", RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1)); }
            catch (ArgumentException e) { throw new ArgumentException($"Pattern key '{key}' does not parse as a regex: {e.Message}", nameof(patterns), e); }
            if (r.IsMatch(path)) return value;
        }
        return null;
    }
}
