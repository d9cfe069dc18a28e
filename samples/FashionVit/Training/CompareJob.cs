using System.Collections.Generic;
using System.IO;
using System.Linq;
using FashionVit.Cli;
using FashionVit.Reporting;
using OneLoRA;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Comparison;
using OneLoRA.Training.Reporting;

namespace FashionVit.Training;

/// <summary>
/// The paper-style comparison (<see cref="MethodComparison"/>, shared with the text job): pretrains once, then fine-tunes
/// every method with every seed, each run in its own process, from the same checkpoint, and writes <c>compare.md</c>,
/// <c>compare.json</c>, <c>compare.png</c> and <c>compare-memory.png</c>.
/// </summary>
public sealed class CompareJob : IComparisonJob
{
    private readonly RunOptions common;
    private readonly IReadOnlyList<RunOptions> runs;

    /// <summary>The default method list (<c>--preset main</c>): <see cref="ComparisonPresets.Main"/>, the 11 methods of the paper's main tables with the head-only baseline.</summary>
    public static IReadOnlyList<string> DefaultMethods => ComparisonPresets.Main;

    /// <summary>
    /// Reads one method entry (<see cref="MethodEntry"/>): a method name or alias, optionally followed by combinations
    /// joined with <c>+</c>: <c>norms</c>, <c>biases</c>, <c>scale</c>, <c>random</c>, <c>qkv</c>, <c>type1</c>, <c>type6</c>
    /// (e.g. <c>onelora+norms</c>, <c>none+biases</c>). Options not named keep the common value.
    /// </summary>
    /// <exception cref="OptionException">Unknown method or combination.</exception>
    public static RunOptions ParseMethod(string entry, RunOptions common)
    {
        var parsed = MethodEntry.Parse(entry);
        var options = common with { Method = parsed.Method };
        foreach (var combination in parsed.Combinations)
        {
            options = combination switch
            {
                Combination.Norms => options with { TrainNorms = true },
                Combination.Biases => options with { TrainBiases = true },
                Combination.Scale => options with { TrainScale = true },
                Combination.Random => options with { RandomCompression = true },
                Combination.Qkv => options with { AttentionOnly = true },
                Combination.Type1 => options with { MoRAType = 1 },
                _ => options with { MoRAType = 6 },
            };
        }
        try { return options.Validate(); }
        catch (OptionException e) { throw new OptionException($"--methods entry '{entry}': {e.Message}"); }
    }

    /// <summary>A comparison of <paramref name="methods"/> (entries as <see cref="ParseMethod"/> reads them) with the options of <paramref name="common"/>.</summary>
    /// <exception cref="OptionException">An entry is invalid.</exception>
    public CompareJob(RunOptions common, IReadOnlyList<string> methods)
    {
        this.common = common;
        runs = methods.Select(m => ParseMethod(m, common)).ToList();
    }

    /// <inheritdoc />
    public string Title => "FashionVit method comparison";

    /// <inheritdoc />
    public string PlotTitle => "Fashion-MNIST fine-tuning: accuracy vs. time (bubble area ~ trainable parameters)";

    /// <inheritdoc />
    public IReadOnlyList<string> Methods => runs.Select(r => r.MethodLabel).ToList();

    /// <inheritdoc />
    public void Prepare(TrainingProgress progress)
    {
        Locations.RequireWritableDirectory(common.CacheOrigin, common.CacheDirectory);
        ChildProcess.Run(typeof(CompareJob).Assembly, "pretrain", ["pretrain", .. RunOptionSet.ToArguments(common with { Out = null, Plain = true })], progress);
    }

    /// <inheritdoc />
    public RunResult Run(ComparisonRun run, string directory, TrainingProgress progress)
    {
        var options = runs[run.MethodIndex] with { Seed = run.Seed, Out = directory, Plain = true };
        ChildProcess.Run(typeof(CompareJob).Assembly, $"{options.MethodLabel} seed {run.Seed}", ["finetune", .. RunOptionSet.ToArguments(options)], progress);
        return FashionVitResult.Load(Path.Combine(directory, RunResult.FileName));
    }

    /// <inheritdoc />
    public string Describe(IReadOnlyList<RunResult> results) =>
        $"Pretrained on classes {RunOptions.FormatClasses(common.SourceClasses)}, fine-tuned to {RunOptions.FormatClasses(common.TargetClasses)}" +
        (common.Shift == DomainShift.None ? "" : $" ({common.Shift.ToString().ToLowerInvariant()}ed images)") +
        $"; ViT dim {common.Dim}, depth {common.Depth}; {results.FirstOrDefault()?.Steps} steps of batch {common.Batch}" +
        (common.TrainLimit > 0 ? $", --train-limit {common.TrainLimit}" : "") + (common.TestLimit > 0 ? $", --test-limit {common.TestLimit}" : "") +
        $" ({(results.FirstOrDefault() as FashionVitResult)?.TestImages} test images), {common.Threads} thread(s).";

    /// <summary>Runs the comparison of <paramref name="methods"/> with <paramref name="seeds"/> into <paramref name="outputDirectory"/>.</summary>
    /// <exception cref="OptionException">An entry is invalid, a label repeats, or a folder cannot be written.</exception>
    public static ComparisonReport Run(RunOptions common, IReadOnlyList<string> methods, IReadOnlyList<int> seeds, string outputDirectory, TrainingProgress progress)
    {
        Locations.RequireWritableDirectory("--out", outputDirectory);
        Locations.RequireWritableDirectory(common.CacheOrigin, common.CacheDirectory);
        return MethodComparison.Run(new CompareJob(common, methods), seeds, outputDirectory, progress);
    }
}
