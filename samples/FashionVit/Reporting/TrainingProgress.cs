using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Spectre.Console;

namespace FashionVit.Reporting;

/// <summary>Receives the progress of one training phase: step, loss and images processed so far.</summary>
public delegate void StepReport(long step, double loss, long images);

/// <summary>
/// Shows training progress: a live bar (loss, images/s, ETA) on a terminal, periodic plain lines when output is
/// redirected, under CI=true, or with --plain. Phases run one after another.
/// </summary>
public abstract class TrainingProgress
{
    /// <summary>Runs <paramref name="body"/> as a phase of <paramref name="totalSteps"/> steps, showing what it reports.</summary>
    public abstract T Run<T>(string phase, long totalSteps, Func<StepReport, T> body);

    /// <summary>Writes a line of information between phases.</summary>
    public abstract void Info(string line);

    /// <summary>Writes the results: a Spectre table on a live console, a markdown table in plain mode (logs, CI).</summary>
    public abstract void Results(System.Collections.Generic.IReadOnlyList<RunResult> results);

    /// <summary>A live bar when the console is interactive and <paramref name="plain"/> is false; plain lines otherwise.</summary>
    public static TrainingProgress Create(bool plain, TextWriter? output = null)
    {
        bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        return plain || ci || Console.IsOutputRedirected || output is not null
            ? new PlainProgress(output ?? Console.Out, TimeSpan.FromSeconds(10))
            : new LiveProgress();
    }

    /// <summary>"loss 0.412 · 455 img/s" for a step report.</summary>
    protected static string Describe(double loss, double imagesPerSecond) =>
        string.Format(CultureInfo.InvariantCulture, "loss {0:F3} · {1:F0} img/s", loss, imagesPerSecond);
}

/// <summary>Spectre.Console live progress: description (phase, loss, images/s), bar, percentage, ETA.</summary>
internal sealed class LiveProgress : TrainingProgress
{
    public override T Run<T>(string phase, long totalSteps, Func<StepReport, T> body) =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new RemainingTimeColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(phase), maxValue: Math.Max(1, totalSteps));
                var watch = Stopwatch.StartNew();
                var result = body((step, loss, images) =>
                {
                    task.Value = step;
                    task.Description = Markup.Escape($"{phase}  {Describe(loss, images / Math.Max(1e-9, watch.Elapsed.TotalSeconds))}");
                });
                task.Value = task.MaxValue;
                return result;
            });

    public override void Info(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));

    public override void Results(System.Collections.Generic.IReadOnlyList<RunResult> results) => ResultsTable.Print(results);
}

/// <summary>One line every interval (and at the end of each phase) with step, loss, images/s and ETA.</summary>
internal sealed class PlainProgress(TextWriter output, TimeSpan interval) : TrainingProgress
{
    public override T Run<T>(string phase, long totalSteps, Func<StepReport, T> body)
    {
        var watch = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        long lastStep = 0;
        double lastLoss = double.NaN;
        long lastImages = 0;
        output.WriteLine($"{phase}: {totalSteps} steps");
        var result = body((step, loss, images) =>
        {
            (lastStep, lastLoss, lastImages) = (step, loss, images);
            if (watch.Elapsed - last < interval) return;
            last = watch.Elapsed;
            output.WriteLine(Line(phase, step, totalSteps, loss, images, watch.Elapsed));
        });
        output.WriteLine(Line(phase, lastStep, totalSteps, lastLoss, lastImages, watch.Elapsed) + " done");
        return result;
    }

    public override void Info(string line) => output.WriteLine(line);

    public override void Results(System.Collections.Generic.IReadOnlyList<RunResult> results) => output.Write(ResultsTable.ToMarkdown(results));

    private static string Line(string phase, long step, long total, double loss, long images, TimeSpan elapsed)
    {
        double seconds = Math.Max(1e-9, elapsed.TotalSeconds);
        var eta = step > 0 ? TimeSpan.FromSeconds(seconds / step * (total - step)) : TimeSpan.Zero;
        return string.Format(CultureInfo.InvariantCulture, "  {0} step {1}/{2} ({3:F0}%)  {4}  elapsed {5:mm\\:ss}  ETA {6:mm\\:ss}",
            phase, step, total, 100.0 * step / Math.Max(1, total), Describe(loss, images / seconds), elapsed, eta);
    }
}
