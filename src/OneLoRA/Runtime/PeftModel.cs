using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using OneLoRA.Serialization;
using OneLoRA.Targeting;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// The Linear layers of a module that a pair of Targets/Exclude glob lists selects, with what did not match.
/// Built by <see cref="PeftModel.Select(nn.Module, string, string)"/>; pass it to <see cref="PeftModel.Attach(nn.Module, TargetSelection, IPeftMethod)"/>.
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
    /// <summary>Prefix of a Targets/Exclude value that is one regex matching whole dotted paths (PEFT's string target_modules).</summary>
    public const string RegexPrefix = "regex:";

    /// <summary>
    /// Selects the Linear layers of <paramref name="module"/> matched by the globs, without attaching. <paramref name="targets"/>
    /// may also be <c>all-linear</c> (every Linear layer) or <c>regex:&lt;pattern&gt;</c>; <paramref name="exclude"/> may be <c>regex:&lt;pattern&gt;</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A regex does not parse.</exception>
    public static TargetSelection Select(nn.Module module, string targets, string exclude = "") =>
        Select(module, targets, exclude, _ => true);

    /// <summary>
    /// Selects the layers <paramref name="options"/> target: Targets/Exclude as in <see cref="Select(nn.Module, string, string)"/>,
    /// then PEFT's <c>modules_to_save</c> (<see cref="PeftOptions.ModulesToSave"/>, never adapted) and <c>layers_to_transform</c>
    /// (<see cref="PeftOptions.LayersToTransform"/>, <see cref="PeftOptions.LayersPattern"/>; not with a regex, as in PEFT).
    /// </summary>
    public static TargetSelection Select(nn.Module module, PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var filter = PeftTargets.Create(["*"], false, [], false, TargetGlob.Split(options.ModulesToSave ?? ""),
            IsRegex(options.Targets) ? [] : options.LayersToTransform ?? [], TargetGlob.Split(options.LayersPattern ?? ""));
        // As in PEFT, a path named exactly by a target entry is adapted whatever layers_to_transform says.
        var exact = IsRegex(options.Targets) ? [] : TargetGlob.Split(options.Targets ?? "").Where(t => t.IndexOfAny(['*', '?']) < 0).ToHashSet(StringComparer.Ordinal);
        return Select(module, options.Targets ?? "", options.Exclude ?? "", p => filter.Passes(p) || (exact.Contains(p) && !filter.IsModuleToSavePath(p)));
    }

    private static bool IsRegex(string? value) => value is not null && value.StartsWith(RegexPrefix, StringComparison.Ordinal);

    private static Func<string, string[], bool> Matcher(string pattern, string field)
    {
        if (IsRegex(pattern))
        {
            var body = pattern[RegexPrefix.Length..];
            Regex regex;
            try { regex = new Regex($"^(?:{body})$", RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1)); }
            catch (ArgumentException e) { throw new ArgumentException($"{field} regex '{body}' does not parse: {e.Message}", field, e); }
            return (path, _) => regex.IsMatch(path);
        }
        if (string.Equals(pattern, PeftTargets.AllLinear, StringComparison.OrdinalIgnoreCase)) return (_, _) => true;
        return (_, names) => MatchesAny(pattern, names);
    }

    private static TargetSelection Select(nn.Module module, string targets, string exclude, Func<string, bool> filter)
    {
        ArgumentNullException.ThrowIfNull(module);
        TorchRuntime.EnsureLoaded();
        // A regex or all-linear is one pattern (it may hold ';'); globs are ';'-separated.
        var targetPatterns = IsRegex(targets) || string.Equals(targets?.Trim(), PeftTargets.AllLinear, StringComparison.OrdinalIgnoreCase)
            ? [targets!.Trim()] : TargetGlob.Split(targets ?? "");
        var excludePatterns = IsRegex(exclude) ? [exclude!] : TargetGlob.Split(exclude ?? "");
        var targetMatchers = targetPatterns.Select(p => Matcher(p, "Targets")).ToArray();
        var excludeMatchers = excludePatterns.Select(p => Matcher(p, "Exclude")).ToArray();

        var candidates = LinearLayers(module);
        var targetHits = new bool[targetPatterns.Length];
        var excludeHits = new bool[excludePatterns.Length];
        var selected = new List<TargetLayer>();
        foreach (var (path, layer) in candidates)
        {
            var names = NamesOf(path, layer);
            bool targeted = false;
            for (int i = 0; i < targetPatterns.Length; i++)
                if (targetMatchers[i](path, names)) { targetHits[i] = true; targeted = true; }
            if (!targeted) continue;
            bool excluded = false;
            for (int i = 0; i < excludePatterns.Length; i++)
                if (excludeMatchers[i](path, names)) { excludeHits[i] = true; excluded = true; }
            if (!excluded && filter(path)) selected.Add(new TargetLayer(path, layer));
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

    /// <summary>
    /// Attaches the method named in <paramref name="options"/> (via <see cref="PeftMethods"/>) to the layers
    /// <see cref="Select(nn.Module, PeftOptions)"/> picks, and trains the <see cref="PeftOptions.ModulesToSave"/> in full.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown method name, or an option out of range.</exception>
    /// <exception cref="InvalidOperationException">No Linear layer matched.</exception>
    public static PeftAttachment Attach(nn.Module module, PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var selection = Select(module, options);
        var attachment = Attach(module, selection, PeftMethods.Create(options));
        TrainModulesToSave(attachment, TargetGlob.Split(options.ModulesToSave ?? ""));
        return attachment;
    }

    /// <summary>
    /// PEFT's <c>PeftModel.from_pretrained</c>: reads the method and every option from <c>adapter_config.json</c> in
    /// <paramref name="adapterDirectory"/> (its subfolder <paramref name="adapterName"/> for a non-default name), attaches
    /// that method to the layers the config's target_modules / exclude_modules / layers_to_transform select by PEFT's rule
    /// (<see cref="PeftTargets"/>), trains its modules_to_save in full, and loads the values. With
    /// <paramref name="isTrainable"/> false (PEFT's default) every adapter and extra parameter is frozen and the model is put
    /// in eval mode.
    /// </summary>
    /// <remarks>
    /// Everything readable without attaching (config fields, target layers, the tensor file's header) is checked first; a
    /// problem then leaves the model untouched. A tensor file that does not fit the adapters created (a missing or mis-shaped
    /// key) is found after attaching: the adapters are then unloaded again and every parameter's requires_grad restored, so
    /// the model is as before the call.
    /// </remarks>
    /// <exception cref="FileNotFoundException">A file of the adapter directory is missing.</exception>
    /// <exception cref="AdapterLoadException">An unsupported field or value, no layer selected, or tensors that do not fit.</exception>
    /// <exception cref="SafetensorsFormatException">The tensor file breaks the format.</exception>
    /// <exception cref="InvalidOperationException">The model already has adapters.</exception>
    public static PeftAttachment FromPretrained(nn.Module model, string adapterDirectory, bool isTrainable = false,
        string adapterName = AdapterFiles.DefaultAdapterName, bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureLoaded();
        var source = AdapterFiles.AdapterDirectory(adapterDirectory, adapterName);
        var configPath = Path.Combine(source, AdapterFiles.ConfigFileName);
        var weightsPath = Path.Combine(source, AdapterFiles.WeightsFileName);
        foreach (var required in new[] { configPath, weightsPath })
            if (!File.Exists(required))
                throw new FileNotFoundException(
                    $"Adapter directory '{source}' has no {Path.GetFileName(required)}; expected {AdapterFiles.ConfigFileName} and {AdapterFiles.WeightsFileName} (written by SaveAdapters or PEFT's save_pretrained).", required);

        var config = AdapterConfig.Read(configPath);
        var options = config.ToOptions();
        var rule = config.Targets();
        IPeftMethod method;
        try { method = PeftMethods.Create(options); }
        catch (ArgumentException e) { throw new AdapterLoadException(configPath, e.Message); }

        var candidates = LinearLayers(model);
        var layers = candidates.Where(c => rule.Selects(c.Path)).ToList();
        var target = AdapterConfig.Raw(config["target_modules"]!.Value);
        if (layers.Count == 0)
            throw new AdapterLoadException(configPath,
                $"target_modules {target} selects no Linear layer of {model.GetType().Name}. Linear layers: {(candidates.Count == 0 ? "(none)" : string.Join(", ", candidates.Select(c => c.Path)))}.");
        using (Safetensors.Open(weightsPath)) { }

        var selection = new TargetSelection(target, config["exclude_modules"] is { } ex ? AdapterConfig.Raw(ex) : "", layers,
            candidates.Select(c => c.Path).ToList(), [], []);
        var trainable = model.parameters().Select(p => (Parameter: p, p.requires_grad)).ToList();
        var attachment = Peft.AttachNamed(model, selection.Layers, method, adapterName);
        try
        {
            TrainModulesToSave(attachment, rule.ModulesToSave);
            attachment.Load(adapterDirectory, adapterName, allowNonFinite);
        }
        catch (Exception)
        {
            // Leave the model as it was: adapters and hooks removed, requires_grad as before.
            attachment.Set.Unload();
            foreach (var (p, requiresGrad) in trainable) p.requires_grad = requiresGrad;
            throw;
        }
        if (!isTrainable)
        {
            foreach (var p in attachment.TrainableParameters().ToList()) p.requires_grad = false;
            model.eval();
        }
        return attachment;
    }

    /// <summary>Trains every module named by PEFT's modules_to_save rule (the path or a path suffix) in full.</summary>
    internal static void TrainModulesToSave(PeftAttachment attachment, IReadOnlyList<string> names)
    {
        if (names.Count == 0) return;
        var rule = PeftTargets.Create([], false, [], false, names, [], []);
        var adapted = attachment.Layers.Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
        var matched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, child) in attachment.Root.named_modules())
        {
            if (path.Length == 0 || child is LinearAdapter || !rule.IsModuleToSave(path) || adapted.Contains(path)) continue;
            // A module inside one already trained in full is covered by it.
            if (matched.Any(m => path.StartsWith(m + ".", StringComparison.Ordinal))) continue;
            attachment.TrainFully(path, child);
            matched.Add(path);
        }
        // A name matching nothing is ignored, as PEFT does (its SEQ_CLS task adds both "classifier" and "score").
    }

    /// <summary>Attaches <paramref name="method"/> to a selection made by <see cref="Select(nn.Module, string, string)"/> on the same module.</summary>
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
    internal static List<TargetLayer> LinearLayers(nn.Module module)
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
