using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using OneLoRA;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Reporting;
using TextClassify.Cli;

namespace TextClassify.Training;

/// <summary>
/// The paper-style comparison: fine-tunes each method in its own process (so each peak memory is that method's alone)
/// on the same data and budget, and writes <c>compare.md</c>, <c>compare.json</c> and <c>compare.png</c>.
/// </summary>
public static class CompareJob
{
    /// <summary>
    /// The default list: the head-only baseline, 1LoRA, 1LoRA with norms, LoRA (r from --rank), VeRA, DoRA, MoRA types 1
    /// and 6, BitFit, DiffFit and full fine-tuning, where registered.
    /// </summary>
    public static IReadOnlyList<string> DefaultMethods =>
        new[] { RunOptions.HeadOnly, "onelora", "onelora+norms", "lora", "vera", "dora", "mora", "mora+type6", "bitfit", "difffit", "full" }
            .Where(m => m == RunOptions.HeadOnly || PeftMethods.TryResolve(m.Split('+')[0], out _)).ToList();

    /// <summary>
    /// Reads one method entry: a method name or alias, optionally followed by combinations joined with <c>+</c>:
    /// <c>norms</c>, <c>biases</c>, <c>scale</c>, <c>random</c>, <c>type6</c> (MoRA's RoPE type), e.g. <c>onelora+norms</c>.
    /// Options not named keep the common value.
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
                "type1" => options with { MoRAType = 1 },
                "type6" => options with { MoRAType = 6 },
                _ => throw new OptionException($"--methods entry '{entry}': unknown combination '{part}'; use norms, biases, scale, random, type1 or type6 (e.g. onelora+norms)."),
            };
        }
        try { return options.Validate(); }
        catch (OptionException e) { throw new OptionException($"--methods entry '{entry}': {e.Message}"); }
    }

    /// <summary>
    /// How to start this program again: the running apphost, else the apphost beside TextClassify.dll (when the
    /// comparison runs inside another process, e.g. a test host), else <c>dotnet TextClassify.dll</c>.
    /// </summary>
    public static ProcessStartInfo SelfStart(IEnumerable<string> arguments)
    {
        var assembly = typeof(CompareJob).Assembly;
        var apphost = Path.ChangeExtension(assembly.Location, OperatingSystem.IsWindows() ? ".exe" : null);
        ProcessStartInfo start;
        if (Assembly.GetEntryAssembly() == assembly && Environment.ProcessPath is { } running)
        {
            start = new ProcessStartInfo(running);
            if (Path.GetFileNameWithoutExtension(running).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) start.ArgumentList.Add(assembly.Location);
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

    /// <summary>Runs the comparison; returns the results in method order.</summary>
    public static IReadOnlyList<TextClassifyResult> Run(RunOptions common, IReadOnlyList<string> methods, string outputDirectory, TrainingProgress progress)
    {
        var runs = methods.Select(m => ParseMethod(m, common)).ToList();
        var slugs = runs.Select(r => RunOptions.Slug(r.MethodLabel)).ToList();
        var repeated = slugs.GroupBy(s => s).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new OptionException($"--methods lists '{repeated.Key}' {repeated.Count()} times.");
        Locations.RequireWritableDirectory("--out", outputDirectory);
        // Data problems surface here, once, not in every child.
        FineTuneJob.LoadTask(common);

        progress.Info($"Comparing {string.Join(", ", runs.Select(r => r.MethodLabel))}; each in its own process. Output: {outputDirectory}");
        var results = new List<TextClassifyResult>();
        for (int i = 0; i < runs.Count; i++)
        {
            var directory = Path.Combine(outputDirectory, slugs[i]);
            RunChild(runs[i].MethodLabel, ["finetune", .. RunOptionSet.ToArguments(runs[i] with { Out = directory, Plain = true })], progress);
            results.Add(RunResult.Load<TextClassifyResult>(Path.Combine(directory, RunResult.FileName)));
        }

        File.WriteAllText(Path.Combine(outputDirectory, "compare.md"), Markdown(common, results));
        File.WriteAllText(Path.Combine(outputDirectory, "compare.json"), JsonSerializer.Serialize(results, RunResult.JsonOptions) + "\n");
        ComparisonPlot.Save(results, Path.Combine(outputDirectory, "compare.png"), "MiniLM on WordNet noun supersenses: accuracy vs. training time");
        return results;
    }

    /// <summary>The markdown report: what was compared, then the table.</summary>
    public static string Markdown(RunOptions common, IReadOnlyList<TextClassifyResult> results)
    {
        var first = results.FirstOrDefault();
        return "# TextClassify method comparison\n\n" +
               $"all-MiniLM-L6-v2 fine-tuned on {first?.Data} ({first?.Labels.Count} labels, {first?.TrainExamples} training and {first?.TestExamples} test examples); " +
               $"{first?.Steps} steps of batch {common.Batch}, --max-len {common.MaxLen}, seed {common.Seed}, {common.Threads} thread(s). " +
               "Each method ran in its own process; peak memory is that process's VmHWM.\n\n" +
               ResultsTable.ToMarkdown(results);
    }

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
