using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using FashionVit.Cli;
using FashionVit.Reporting;
using OneLoRA;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Reporting;

namespace FashionVit.Training;

/// <summary>
/// The paper-style comparison: pretrains once, then fine-tunes each method in its own process (so each peak memory
/// is that method's alone) from the same checkpoint, and writes <c>compare.md</c>, <c>compare.json</c> and <c>compare.png</c>.
/// </summary>
public static class CompareJob
{
    /// <summary>The default method list: 1LoRA, LoRA (r from --rank), BitFit, full fine-tuning and the head-only baseline, where registered.</summary>
    public static IReadOnlyList<string> DefaultMethods =>
        new[] { "onelora", "lora", "bitfit", "full" }.Where(m => PeftMethods.TryResolve(m, out _)).Append(RunOptions.HeadOnly).ToList();

    /// <summary>
    /// Reads one method entry: a method name or alias, optionally followed by combinations joined with <c>+</c>:
    /// <c>norms</c>, <c>biases</c>, <c>scale</c>, <c>random</c> (e.g. <c>onelora+norms</c>). Options not named keep the common value.
    /// </summary>
    /// <exception cref="OptionException">Unknown method or combination.</exception>
    public static RunOptions ParseMethod(string entry, RunOptions common)
    {
        var parts = entry.Split('+', StringSplitOptions.TrimEntries);
        var options = common with { Method = parts[0] };
        foreach (var part in parts.Skip(1))
        {
            options = part.ToLowerInvariant() switch
            {
                "norms" => options with { TrainNorms = true },
                "biases" => options with { TrainBiases = true },
                "scale" => options with { TrainScale = true },
                "random" => options with { RandomCompression = true },
                _ => throw new OptionException($"--methods entry '{entry}': unknown combination '{part}'; use norms, biases, scale or random (e.g. onelora+norms)."),
            };
        }
        try { return options.Validate(); }
        catch (OptionException e) { throw new OptionException($"--methods entry '{entry}': {e.Message}"); }
    }

    /// <summary>
    /// How to start this program again: the running apphost, else the apphost beside FashionVit.dll (when the
    /// comparison runs inside another process, e.g. a test host), else <c>dotnet FashionVit.dll</c>.
    /// </summary>
    public static ProcessStartInfo SelfStart(IEnumerable<string> arguments)
    {
        var assembly = typeof(CompareJob).Assembly;
        var apphost = Path.ChangeExtension(assembly.Location, OperatingSystem.IsWindows() ? ".exe" : null);
        ProcessStartInfo start;
        if (Assembly.GetEntryAssembly() == assembly && Environment.ProcessPath is { } running)
        {
            start = new ProcessStartInfo(running);
            if (IsDotnetHost(running)) start.ArgumentList.Add(assembly.Location);
        }
        else if (File.Exists(apphost))
        {
            start = new ProcessStartInfo(apphost);
        }
        else
        {
            start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
            start.ArgumentList.Add(assembly.Location);
        }
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["CI"] = "true";   // children print plain progress lines, which the parent relays
        return start;
    }

    private static bool IsDotnetHost(string path) => Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase);

    /// <summary>Runs the comparison; returns the results in method order.</summary>
    public static IReadOnlyList<FashionVitResult> Run(RunOptions common, IReadOnlyList<string> methods, string outputDirectory, TrainingProgress progress)
    {
        var runs = methods.Select(m => ParseMethod(m, common)).ToList();
        var slugs = runs.Select(r => RunOptions.Slug(r.MethodLabel)).ToList();
        var repeated = slugs.GroupBy(s => s).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new OptionException($"--methods lists '{repeated.Key}' {repeated.Count()} times.");
        Locations.RequireWritableDirectory("--out", outputDirectory);
        Locations.RequireWritableDirectory(common.CacheOrigin, common.CacheDirectory);
        Directory.CreateDirectory(outputDirectory);

        progress.Info($"Comparing {string.Join(", ", runs.Select(r => r.MethodLabel))}; each in its own process. Output: {outputDirectory}");
        RunChild("pretrain", ["pretrain", .. RunOptionSet.ToArguments(common with { Out = null, Plain = true })], progress);

        var results = new List<FashionVitResult>();
        for (int i = 0; i < runs.Count; i++)
        {
            var directory = Path.Combine(outputDirectory, slugs[i]);
            RunChild(runs[i].MethodLabel, ["finetune", .. RunOptionSet.ToArguments(runs[i] with { Out = directory, Plain = true })], progress);
            results.Add(FashionVitResult.Load(Path.Combine(directory, RunResult.FileName)));
        }

        File.WriteAllText(Path.Combine(outputDirectory, "compare.md"), Markdown(common, results));
        File.WriteAllText(Path.Combine(outputDirectory, "compare.json"), JsonSerializer.Serialize(results, RunResult.JsonOptions) + "\n");
        ComparisonPlot.Save(results, Path.Combine(outputDirectory, "compare.png"), "Fashion-MNIST fine-tuning: accuracy vs. training time");
        return results;
    }

    /// <summary>The markdown report: what was compared, then the table.</summary>
    public static string Markdown(RunOptions common, IReadOnlyList<FashionVitResult> results) =>
        $"# FashionVit method comparison\n\n" +
        $"Pretrained on classes {RunOptions.FormatClasses(common.SourceClasses)}, fine-tuned to {RunOptions.FormatClasses(common.TargetClasses)}" +
        (common.Shift == DomainShift.None ? "" : $" ({common.Shift.ToString().ToLowerInvariant()}ed images)") +
        $"; {results.FirstOrDefault()?.Steps} steps of batch {common.Batch}, seed {common.Seed}, {common.Threads} thread(s). " +
        "Each method ran in its own process; peak memory is that process's VmHWM.\n\n" +
        ResultsTable.ToMarkdown(results);

    private static void RunChild(string label, IReadOnlyList<string> arguments, TrainingProgress progress)
    {
        using var process = Process.Start(SelfStart(arguments))
            ?? throw new InvalidOperationException($"Could not start the {label} process.");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) progress.Info($"[{label}] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) progress.Info($"[{label}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"The {label} process failed with exit code {process.ExitCode} (its output is above). Arguments: {string.Join(' ', arguments)}");
    }
}
