using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA;
using OneLoRA.Serialization;
using OneLoRA.Training;
using OneLoRA.Training.Cli;
using TextClassify.Training;

namespace TextClassify.Cli;

/// <summary>
/// <c>evaluate --adapter DIR</c>: the method and its options come from DIR's <c>adapter_config.json</c>
/// (<see cref="AdapterFiles.ReadOptions"/>), so the user need not repeat them. An option also written on the command
/// line must agree with the file.
/// </summary>
public static class AdapterConfigOptions
{
    /// <summary><paramref name="options"/> with the method and method options that <paramref name="adapterDirectory"/> states.</summary>
    /// <param name="options">The bound command line.</param>
    /// <param name="adapterDirectory">The adapter directory.</param>
    /// <param name="set">The command's options.</param>
    /// <param name="given">True for an option written on the command line.</param>
    /// <exception cref="FileNotFoundException">The directory has no adapter_config.json.</exception>
    /// <exception cref="OptionException">A given option disagrees with the file (names the option, the file's and the given value).</exception>
    public static RunOptions Apply(RunOptions options, string adapterDirectory, RunOptionSet set, Func<Option, bool> given)
    {
        var configPath = Path.Combine(adapterDirectory, AdapterFiles.ConfigFileName);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"--adapter {adapterDirectory}: no {AdapterFiles.ConfigFileName} there ({configPath}); pass the adapter/ folder that finetune writes.", configPath);
        var checks = new List<(Option Option, string File, string Given)>();
        RunOptions stated;
        if (PeftType(configPath) == new HeadOnlyMethod().PeftType)
        {
            stated = options with { Method = RunOptions.HeadOnly, TrainNorms = false, TrainBiases = false, TrainScale = false, RandomCompression = false };
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
                AttentionOnly = TargetsAttentionOnly(configPath),
            };
            checks.Add((set.AttentionOnly, B(stated.AttentionOnly), B(options.AttentionOnly)));
            bool lora = p.Method is "LoRA" or "DoRA";
            if (lora || p.Method == "VeRA" || (p.Method == "MoRA" && p.MoRARankRule == MoRARankRule.MoRA)) checks.Add((set.Rank, I(p.Rank), I(options.Rank)));
            // --alpha 0 means alpha = rank; the file holds the resolved alpha.
            if (lora) checks.Add((set.Alpha, N(p.Alpha), N(options.Alpha == 0 ? (given(set.Rank) ? options.Rank : p.Rank) : options.Alpha)));
            if (lora || p.Method is "VeRA" or "MoRA") checks.Add((set.Dropout, N(p.Dropout), N(options.Dropout)));
            if (p.Method == "OneLoRA")
            {
                checks.Add((set.RandomCompression, B(p.RandomCompression), B(options.RandomCompression)));
                checks.Add((set.CompressionSeed, I(p.CompressionSeed), I(options.CompressionSeed)));
            }
            if (p.Method == "MoRA")
            {
                checks.Add((set.MoRAType, I(p.MoRAType), I(options.MoRAType)));
                checks.Add((set.MoRARankRule, p.MoRARankRule.ToString(), options.MoRARankRule.ToString()));
            }
            if (p.Method == "VeRA") checks.Add((set.Seed, I(p.ProjectionPrngKey), I(options.Seed)));
        }
        // The method compares by canonical name, so aliases agree.
        checks.Insert(0, (set.Method, stated.MethodName, options.MethodName));
        checks.Add((set.TrainNorms, B(stated.TrainNorms), B(options.TrainNorms)));
        checks.Add((set.TrainBiases, B(stated.TrainBiases), B(options.TrainBiases)));
        checks.Add((set.TrainScale, B(stated.TrainScale), B(options.TrainScale)));
        foreach (var (option, file, value) in checks)
        {
            if (given(option) && !string.Equals(file, value, StringComparison.OrdinalIgnoreCase))
                throw new OptionException($"{option.Name} {value}: {configPath} states {file}; leave {option.Name} out (the adapter directory gives it) or give {file}.");
        }
        return stated.Validate();
    }

    /// <summary>
    /// True when the file's <c>target_modules</c> is a list of layer names that are all attention projections and name
    /// each of query, key and value (what <c>finetune --attention-only</c> writes): the run was attention-only. A regex,
    /// <c>all-linear</c> or any other layer means every Linear; the load itself then checks the exact target set.
    /// </summary>
    public static bool TargetsAttentionOnly(string configPath)
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
            var lastParts = names.Select(n => n[(n.LastIndexOf('.') + 1)..]).ToHashSet(StringComparer.Ordinal);
            return names.Count > 0 && names.All(RunOptions.IsAttentionProjection) && lastParts.SetEquals(["query", "key", "value"]);
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
