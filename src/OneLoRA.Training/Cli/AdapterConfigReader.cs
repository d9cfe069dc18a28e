using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA.Serialization;

namespace OneLoRA.Training.Cli;

/// <summary>
/// The method options of a training job's command line that an adapter directory also states: what
/// <see cref="AdapterConfigReader.Apply"/> reads from <c>adapter_config.json</c> for <c>evaluate --adapter DIR</c>.
/// <see cref="Method"/> is a method name or alias, or <see cref="HeadOnlyName"/> for the head-only baseline.
/// </summary>
public sealed record AdapterMethodSettings
{
    /// <summary>The head-only baseline's method name in both jobs' command lines.</summary>
    public const string HeadOnlyName = "head";

    /// <summary>--method</summary>
    public required string Method { get; init; }
    /// <summary>--rank</summary>
    public int Rank { get; init; }
    /// <summary>--alpha (0: alpha = rank)</summary>
    public double Alpha { get; init; }
    /// <summary>--dropout</summary>
    public double Dropout { get; init; }
    /// <summary>--train-norms</summary>
    public bool TrainNorms { get; init; }
    /// <summary>--train-biases</summary>
    public bool TrainBiases { get; init; }
    /// <summary>--train-scale</summary>
    public bool TrainScale { get; init; }
    /// <summary>--attention-only</summary>
    public bool AttentionOnly { get; init; }
    /// <summary>--random-compression</summary>
    public bool RandomCompression { get; init; }
    /// <summary>--compression-seed</summary>
    public long CompressionSeed { get; init; }
    /// <summary>--mora-type</summary>
    public int MoRAType { get; init; }
    /// <summary>--mora-rank-rule</summary>
    public MoRARankRule MoRARankRule { get; init; }
    /// <summary>--seed (VeRA's projection key)</summary>
    public int Seed { get; init; }

    /// <summary>True for the head-only baseline.</summary>
    public bool IsHeadOnly => string.Equals(Method, HeadOnlyName, StringComparison.OrdinalIgnoreCase);

    /// <summary>The canonical method name (aliases resolved), as the jobs compare them.</summary>
    public string MethodName => IsHeadOnly ? "Head" : PeftMethods.TryResolve(Method, out var canonical) ? canonical : Method;
}

/// <summary>
/// <c>evaluate --adapter DIR</c> in both jobs: the method and its options come from DIR's <c>adapter_config.json</c>
/// (<see cref="AdapterFiles.ReadOptions"/>, and <c>target_modules</c> for attention-only runs), so the user need not
/// repeat them. An option also written on the command line must agree with the file.
/// </summary>
public static class AdapterConfigReader
{
    /// <summary><paramref name="options"/> with the method and method options that <paramref name="adapterDirectory"/> states.</summary>
    /// <param name="options">The command line's values.</param>
    /// <param name="adapterDirectory">The adapter directory.</param>
    /// <param name="given">True for an option (by name, e.g. <c>--rank</c>) written on the command line.</param>
    /// <param name="isAttentionProjection">True for a layer path that the job's <c>--attention-only</c> adapts (query, key, value).</param>
    /// <exception cref="FileNotFoundException">The directory has no adapter_config.json.</exception>
    /// <exception cref="InvalidDataException">VeRA's projection_prng_key does not fit --seed.</exception>
    /// <exception cref="OptionException">A given option disagrees with the file (names the option, the file's and the given value).</exception>
    public static AdapterMethodSettings Apply(AdapterMethodSettings options, string adapterDirectory, Func<string, bool> given, Func<string, bool> isAttentionProjection)
    {
        var configPath = Path.Combine(adapterDirectory, AdapterFiles.ConfigFileName);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"--adapter {adapterDirectory}: no {AdapterFiles.ConfigFileName} there ({configPath}); pass the adapter/ folder that finetune writes.", configPath);
        var checks = new List<(string Option, string File, string Given)>();
        AdapterMethodSettings stated;
        if (PeftType(configPath) == new HeadOnlyMethod().PeftType)
        {
            stated = options with { Method = AdapterMethodSettings.HeadOnlyName, TrainNorms = false, TrainBiases = false, TrainScale = false, RandomCompression = false, AttentionOnly = false };
        }
        else
        {
            var p = AdapterFiles.ReadOptions(adapterDirectory);
            if (p.Method == "VeRA" && p.ProjectionPrngKey is < int.MinValue or > int.MaxValue)
                throw new InvalidDataException($"{configPath}: projection_prng_key {p.ProjectionPrngKey} does not fit --seed (a 32-bit integer).");
            stated = options with
            {
                Method = p.Method, Rank = p.Rank, Alpha = p.Alpha, Dropout = p.Dropout,
                TrainNorms = p.TrainNorms, TrainBiases = p.TrainBiases, TrainScale = p.TrainScale,
                RandomCompression = p.RandomCompression, CompressionSeed = p.CompressionSeed,
                MoRAType = p.MoRAType, MoRARankRule = p.MoRARankRule,
                Seed = p.Method == "VeRA" ? (int)p.ProjectionPrngKey : options.Seed,
                AttentionOnly = TargetsAttentionOnly(configPath, isAttentionProjection),
            };
            bool lora = p.Method is "LoRA" or "DoRA";
            if (lora || p.Method == "VeRA" || (p.Method == "MoRA" && p.MoRARankRule == MoRARankRule.MoRA)) checks.Add(("--rank", I(p.Rank), I(options.Rank)));
            // --alpha 0 means alpha = rank; the file holds the resolved alpha.
            if (lora) checks.Add(("--alpha", N(p.Alpha), N(options.Alpha == 0 ? (given("--rank") ? options.Rank : p.Rank) : options.Alpha)));
            if (lora || p.Method is "VeRA" or "MoRA") checks.Add(("--dropout", N(p.Dropout), N(options.Dropout)));
            if (p.Method == "OneLoRA")
            {
                checks.Add(("--random-compression", B(p.RandomCompression), B(options.RandomCompression)));
                checks.Add(("--compression-seed", I(p.CompressionSeed), I(options.CompressionSeed)));
            }
            if (p.Method == "MoRA")
            {
                checks.Add(("--mora-type", I(p.MoRAType), I(options.MoRAType)));
                checks.Add(("--mora-rank-rule", p.MoRARankRule.ToString(), options.MoRARankRule.ToString()));
            }
            if (p.Method == "VeRA") checks.Add(("--seed", I(p.ProjectionPrngKey), I(options.Seed)));
            checks.Add(("--attention-only", B(stated.AttentionOnly), B(options.AttentionOnly)));
        }
        // The method compares by canonical name, so aliases agree.
        checks.Insert(0, ("--method", stated.MethodName, options.MethodName));
        checks.Add(("--train-norms", B(stated.TrainNorms), B(options.TrainNorms)));
        checks.Add(("--train-biases", B(stated.TrainBiases), B(options.TrainBiases)));
        checks.Add(("--train-scale", B(stated.TrainScale), B(options.TrainScale)));
        foreach (var (option, file, value) in checks)
        {
            if (given(option) && !string.Equals(file, value, StringComparison.OrdinalIgnoreCase))
                throw new OptionException($"{option} {value}: {configPath} states {file}; leave {option} out (the adapter directory gives it) or give {file}.");
        }
        return stated;
    }

    /// <summary>
    /// True when the file's <c>target_modules</c> is a list of layer names that <paramref name="isAttentionProjection"/>
    /// accepts and that name each of the three projections (what <c>finetune --attention-only</c> writes): the run was
    /// attention-only. A regex, <c>all-linear</c> or any other layer means every Linear; the load itself then checks
    /// the exact target set.
    /// </summary>
    public static bool TargetsAttentionOnly(string configPath, Func<string, bool> isAttentionProjection)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(configPath));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("target_modules", out var targets) || targets.ValueKind != JsonValueKind.Array)
                return false;
            var names = new List<string>();
            foreach (var t in targets.EnumerateArray())
            {
                if (t.ValueKind != JsonValueKind.String) return false;
                names.Add(t.GetString()!);
            }
            var lastParts = names.Select(n => n[(n.LastIndexOf('.') + 1)..]).Distinct(StringComparer.Ordinal).Count();
            return names.Count > 0 && names.All(isAttentionProjection) && lastParts == 3;
        }
        catch (JsonException)
        {
            return false; // ReadOptions reports the malformed file by name.
        }
    }

    private static string? PeftType(string configPath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(configPath));
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("peft_type", out var type)
                   && type.ValueKind == JsonValueKind.String ? type.GetString() : null;
        }
        catch (JsonException)
        {
            return null; // ReadOptions reports the malformed file by name.
        }
    }

    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    private static string B(bool v) => v ? "true" : "false";
}
