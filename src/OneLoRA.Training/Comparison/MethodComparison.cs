using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Reporting;

namespace OneLoRA.Training.Comparison;

/// <summary>What a comparison wrote: every run, and one summary per method.</summary>
public sealed record ComparisonReport
{
    /// <summary>The report heading.</summary>
    public required string Title { get; init; }
    /// <summary>What was compared (the job's paragraph).</summary>
    public required string Description { get; init; }
    /// <summary>The seeds.</summary>
    public required IReadOnlyList<int> Seeds { get; init; }
    /// <summary>The 1-minute load average (/proc/loadavg) when the runs started and when they ended; NaN where unknown.</summary>
    public required double LoadAverageStart { get; init; }
    /// <summary>See <see cref="LoadAverageStart"/>.</summary>
    public required double LoadAverageEnd { get; init; }
    /// <summary>Wall seconds of the whole comparison.</summary>
    public required double Seconds { get; init; }
    /// <summary>One per method, in method order.</summary>
    public required IReadOnlyList<MethodSummary> Summaries { get; init; }
    /// <summary>Every run, in the order they ran.</summary>
    public required IReadOnlyList<RunResult> Runs { get; init; }
}

/// <summary>
/// The paper-style comparison shared by the jobs: every method × seed in the interleaved order of
/// <see cref="ComparisonSchedule.Interleaved"/>, then per method mean ± std of the accuracy, of train + validation time
/// and of training tensor memory; written as <see cref="MarkdownFile"/>, <see cref="JsonFile"/>, <see cref="PlotFile"/>
/// and <see cref="MemoryPlotFile"/>.
/// </summary>
public static class MethodComparison
{
    /// <summary>The markdown report's file name.</summary>
    public const string MarkdownFile = "compare.md";
    /// <summary>The JSON report's file name.</summary>
    public const string JsonFile = "compare.json";
    /// <summary>The bubble plot's file name.</summary>
    public const string PlotFile = "compare.png";
    /// <summary>The memory bar chart's file name.</summary>
    public const string MemoryPlotFile = "compare-memory.png";

    /// <summary>The folder of one run: <c>&lt;slug&gt;/seed-&lt;seed&gt;</c> under the output directory.</summary>
    public static string RunDirectory(string outputDirectory, string slug, int seed) =>
        Path.Combine(outputDirectory, slug, "seed-" + seed.ToString(CultureInfo.InvariantCulture));

    /// <summary>Prepares, runs the schedule with progress lines (k of N, method, seed, ETA), writes the reports.</summary>
    /// <exception cref="OptionException">Two methods have the same label, or the output folder cannot be written.</exception>
    public static ComparisonReport Run(IComparisonJob job, IReadOnlyList<int> seeds, string outputDirectory, TrainingProgress progress)
    {
        var repeated = job.Methods.GroupBy(m => m, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new OptionException($"--methods lists '{repeated.Key}' {repeated.Count()} times.");
        Locations.RequireWritableDirectory("--out", outputDirectory);
        Directory.CreateDirectory(outputDirectory);
        var schedule = ComparisonSchedule.Interleaved(job.Methods.Count, seeds);
        progress.Info($"Comparing {string.Join(", ", job.Methods)} with seed(s) {string.Join(", ", seeds)}: {schedule.Count} runs, each in its own process, interleaved. Output: {outputDirectory}");
        double loadStart = LoadAverage();
        var watch = Stopwatch.StartNew();
        job.Prepare(progress);
        var prepared = watch.Elapsed;
        var results = new List<RunResult>();
        foreach (var run in schedule)
        {
            var method = job.Methods[run.MethodIndex];
            var done = watch.Elapsed - prepared;
            string eta = run.Number == 1 ? "?" : Clock(TimeSpan.FromSeconds(done.TotalSeconds / (run.Number - 1) * (run.Total - run.Number + 1)));
            progress.Info($"== run {run.Number}/{run.Total}: {method}, seed {run.Seed} ({run.SeedIndex + 1}/{seeds.Count}) · elapsed {Clock(watch.Elapsed)} · ETA {eta}");
            var result = job.Run(run, RunDirectory(outputDirectory, Slug(method), run.Seed), progress);
            results.Add(result);
        }
        var report = new ComparisonReport
        {
            Title = job.Title,
            Description = job.Describe(results),
            Seeds = seeds,
            LoadAverageStart = loadStart,
            LoadAverageEnd = LoadAverage(),
            Seconds = watch.Elapsed.TotalSeconds,
            Summaries = MethodSummary.Of(job.Methods, results),
            Runs = results,
        };
        Write(report, outputDirectory, job.PlotTitle);
        progress.Info($"Done in {Clock(watch.Elapsed)}.");
        return report;
    }

    /// <summary>Writes the markdown, the JSON and both plots into <paramref name="outputDirectory"/> (each atomically).</summary>
    public static void Write(ComparisonReport report, string outputDirectory, string plotTitle)
    {
        WriteAtomically(Path.Combine(outputDirectory, MarkdownFile), Markdown(report));
        WriteAtomically(Path.Combine(outputDirectory, JsonFile), Json(report));
        ComparisonPlot.Save(report.Summaries, Path.Combine(outputDirectory, PlotFile), plotTitle);
        ComparisonPlot.SaveMemory(report.Summaries, Path.Combine(outputDirectory, MemoryPlotFile), "Training tensor memory beyond the model's weights");
    }

    /// <summary>The report as JSON (snake_case): title, seeds, load averages, summaries (mean/std/count), runs.</summary>
    public static string Json(ComparisonReport report) =>
        JsonSerializer.Serialize(new
        {
            report.Title,
            report.Description,
            report.Seeds,
            report.LoadAverageStart,
            report.LoadAverageEnd,
            report.Seconds,
            report.Summaries,
            Runs = report.Runs.Cast<object>().ToList(),   // each with its job's own fields
        }, RunResult.JsonOptions) + "\n";

    /// <summary>The markdown report: heading, description, the summary table, the per-run table.</summary>
    public static string Markdown(ComparisonReport report)
    {
        var text = new StringBuilder();
        text.Append("# ").AppendLine(report.Title).AppendLine();
        text.AppendLine(report.Description).AppendLine();
        text.AppendLine(FormattableString.Invariant(
            $"Seeds {string.Join(", ", report.Seeds)}; {report.Runs.Count} runs, interleaved (round robin over the methods within each seed), each in its own process; {report.Seconds / 60:F1} min in all; load average {Load(report.LoadAverageStart)} at the start, {Load(report.LoadAverageEnd)} at the end. Mean ± sample standard deviation (n − 1) over the seeds. Time: training steps + evaluation of the unmerged model. Tensor memory: peak native-heap bytes in use during the first training steps (forward, backward, AdamW step) beyond those in use before the optimizer existed (glibc mallinfo2). Peak RSS: the process's VmHWM (mostly libtorch)."));
        text.AppendLine();
        text.AppendLine("| method | accuracy (%) | time (s) | tensor memory (MiB) | trainable params | peak RSS (MiB) | runs |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var s in report.Summaries)
            text.AppendLine($"| {s.Method} | {s.Accuracy.Format("F2", 100)} | {s.Seconds.Format("F1")} | {s.TensorMemoryBytes?.Format("F2", 1.0 / Mebi) ?? "—"} | {s.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture)} | {s.PeakRssBytes.Format("F0", 1.0 / Mebi)} | {s.Accuracy.Count} |");
        text.AppendLine();
        text.AppendLine("Every run, in the order they ran:").AppendLine();
        text.AppendLine("| # | method | seed | accuracy (%) | merged (%) | train (s) | eval (s) | tensor memory (MiB) | peak RSS (MiB) |");
        text.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        int n = 0;
        foreach (var r in report.Runs)
            text.AppendLine(FormattableString.Invariant(
                $"| {++n} | {r.Method} | {r.Seed} | {100 * r.Accuracy:F2} | {100 * r.MergedAccuracy:F2} | {r.TrainSeconds:F1} | {r.EvaluationSeconds:F1} | {(r.TensorMemoryBytes < 0 ? "—" : (r.TensorMemoryBytes / Mebi).ToString("F2", CultureInfo.InvariantCulture))} | {r.PeakMemoryBytes / Mebi:F0} |"));
        return text.ToString();
    }

    /// <summary>A label as a folder name: lower case letters, digits and dashes.</summary>
    public static string Slug(string label) =>
        string.Join("-", label.ToLowerInvariant().Split([' ', '=', '+', '.', '/', ':', '(', ')', ','], StringSplitOptions.RemoveEmptyEntries));

    private const double Mebi = 1024.0 * 1024.0;

    private static string Load(double value) => double.IsNaN(value) ? "unknown" : value.ToString("F2", CultureInfo.InvariantCulture);

    private static string Clock(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"mm\:ss", CultureInfo.InvariantCulture);

    /// <summary>The 1-minute load average from /proc/loadavg; NaN where there is none.</summary>
    public static double LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    private static void WriteAtomically(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
