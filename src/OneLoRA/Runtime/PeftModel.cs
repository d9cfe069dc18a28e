using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Targeting;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// The Linear layers of a module that a pair of Targets/Exclude glob lists selects, with what did not match.
/// Built by <see cref="PeftModel.Select"/>; pass it to <see cref="PeftModel.Attach(nn.Module, TargetSelection, IPeftMethod)"/>.
/// </summary>
/// <param name="Targets">The target glob list as given.</param>
/// <param name="Exclude">The exclude glob list as given.</param>
/// <param name="Layers">The selected layers with their dotted paths, in <c>named_modules()</c> order.</param>
/// <param name="LinearPaths">Every Linear layer's dotted path in the module (the candidates).</param>
/// <param name="UnmatchedTargets">Target patterns that matched no Linear layer (likely typos).</param>
/// <param name="UnmatchedExcludes">Exclude patterns that matched no targeted layer (likely typos).</param>
public sealed record TargetSelection(
    string Targets,
    string Exclude,
    IReadOnlyList<TargetLayer> Layers,
    IReadOnlyList<string> LinearPaths,
    IReadOnlyList<string> UnmatchedTargets,
    IReadOnlyList<string> UnmatchedExcludes)
{
    /// <summary>One line per pattern that matched nothing, for logs (empty when every pattern matched).</summary>
    public IReadOnlyList<string> Warnings =>
        UnmatchedTargets.Select(p => $"Target pattern '{p}' matched no Linear layer.")
            .Concat(UnmatchedExcludes.Select(p => $"Exclude pattern '{p}' matched no targeted layer."))
            .ToList();
}

/// <summary>
/// Runtime attach for modules nobody can annotate (third-party models): finds the Linear layers by glob and
/// attaches adapters through <see cref="Peft.Attach"/>, which installs a forward hook on each layer.
/// </summary>
/// <remarks>
/// Hooks run in <c>call()</c> only: the model must invoke its layers as <c>layer.call(x)</c> (as
/// <c>Sequential</c> does). A model that calls <c>layer.forward(x)</c> bypasses runtime-attached adapters;
/// annotate it with <see cref="PeftAttribute"/> instead, whose generated interceptors route <c>forward</c> too.
/// <para>
/// A Linear layer is selected when some target glob matches its dotted path (<c>blocks.0.attn.qkv</c>), its
/// last path segment (<c>qkv</c>) or its type name (<c>Linear</c>), and no exclude glob matches any of them.
/// Globs are those of <see cref="TargetGlob"/> (<c>*</c>, <c>?</c>, <c>;</c>-separated, case-sensitive).
/// </para>
/// </remarks>
public static class PeftModel
{
    /// <summary>Selects the Linear layers of <paramref name="module"/> matched by the globs, without attaching.</summary>
    public static TargetSelection Select(nn.Module module, string targets, string exclude = "")
    {
        ArgumentNullException.ThrowIfNull(module);
        TorchRuntime.EnsureLoaded();
        var targetPatterns = TargetGlob.Split(targets ?? "");
        var excludePatterns = TargetGlob.Split(exclude ?? "");

        var candidates = LinearLayers(module);
        var targetHits = new bool[targetPatterns.Length];
        var excludeHits = new bool[excludePatterns.Length];
        var selected = new List<TargetLayer>();
        foreach (var (path, layer) in candidates)
        {
            var names = NamesOf(path, layer);
            bool targeted = false;
            for (int i = 0; i < targetPatterns.Length; i++)
                if (MatchesAny(targetPatterns[i], names)) { targetHits[i] = true; targeted = true; }
            if (!targeted) continue;
            bool excluded = false;
            for (int i = 0; i < excludePatterns.Length; i++)
                if (MatchesAny(excludePatterns[i], names)) { excludeHits[i] = true; excluded = true; }
            if (!excluded) selected.Add(new TargetLayer(path, layer));
        }

        return new TargetSelection(
            targets ?? "",
            exclude ?? "",
            selected,
            candidates.Select(c => c.Path).ToList(),
            targetPatterns.Where((_, i) => !targetHits[i]).ToList(),
            excludePatterns.Where((_, i) => !excludeHits[i]).ToList());
    }

    /// <summary>
    /// Attaches <paramref name="method"/> to the Linear layers of <paramref name="module"/> selected by the globs.
    /// Merge, unmerge, trainable parameters and reports go through the returned attachment (or <c>module.Adapters()</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">No Linear layer matched; the message lists the Linear paths that exist.</exception>
    public static PeftAttachment Attach(nn.Module module, IPeftMethod method, string targets = "*", string exclude = "") =>
        Attach(module, Select(module, targets, exclude), method);

    /// <summary>Attaches the method named in <paramref name="options"/> (via <see cref="PeftMethods"/>) to the layers its Targets/Exclude select.</summary>
    /// <exception cref="ArgumentException">Unknown method name.</exception>
    /// <exception cref="InvalidOperationException">No Linear layer matched.</exception>
    public static PeftAttachment Attach(nn.Module module, PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Attach(module, PeftMethods.Create(options), options.Targets, options.Exclude);
    }

    /// <summary>Attaches <paramref name="method"/> to a selection made by <see cref="Select"/> on the same module.</summary>
    /// <exception cref="InvalidOperationException">The selection is empty; the message lists the Linear paths that exist.</exception>
    public static PeftAttachment Attach(nn.Module module, TargetSelection selection, IPeftMethod method)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(selection);
        ArgumentNullException.ThrowIfNull(method);
        if (selection.Layers.Count == 0)
        {
            var paths = selection.LinearPaths.Count == 0 ? "(none)" : string.Join(", ", selection.LinearPaths);
            throw new InvalidOperationException(
                $"Runtime attach of {method.Name} to {module.GetType().Name}: Targets '{selection.Targets}'" +
                (selection.Exclude.Length > 0 ? $" with Exclude '{selection.Exclude}'" : "") +
                $" selected no Linear layer. Linear layers in the model: {paths}.");
        }
        return Peft.Attach(module, selection.Layers, method);
    }

    /// <summary>Every Linear layer under <paramref name="module"/> once, skipping layers inside adapters.</summary>
    private static List<TargetLayer> LinearLayers(nn.Module module)
    {
        var result = new List<TargetLayer>();
        var seen = new HashSet<Linear>(ReferenceEqualityComparer.Instance);
        var adapterPaths = new List<string>();
        foreach (var (path, child) in module.named_modules())
        {
            if (child is LinearAdapter) { adapterPaths.Add(path + "."); continue; }
            if (child is not Linear linear) continue;
            // A method's own Linear parts (LoRA's lora_A) are not targets; a layer reachable twice is adapted once.
            if (adapterPaths.Any(a => path.StartsWith(a, StringComparison.Ordinal))) continue;
            if (seen.Add(linear)) result.Add(new TargetLayer(path, linear));
        }
        return result;
    }

    private static string[] NamesOf(string path, Linear layer)
    {
        int dot = path.LastIndexOf('.');
        return [path, dot < 0 ? path : path[(dot + 1)..], layer.GetType().Name];
    }

    private static bool MatchesAny(string pattern, string[] names)
    {
        foreach (var name in names)
            if (TargetGlob.IsMatch(pattern, name)) return true;
        return false;
    }
}
