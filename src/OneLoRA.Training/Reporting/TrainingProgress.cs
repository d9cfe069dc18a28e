using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using Spectre.Console;

namespace OneLoRA.Training.Reporting;

/// <summary>Receives the progress of one training phase: step, loss and examples processed so far.</summary>
public delegate void StepReport(long step, double loss, long examples);

/// <summary>
/// Shows training progress: a live bar (loss, examples/s, ETA) on a terminal, periodic plain lines when output is
/// redirected, under CI=true, or when the job asks for plain output (<c>--plain</c>). Phases run one after another.
/// </summary>
public abstract class TrainingProgress
{
    /// <summary>Short unit of the examples in progress lines, e.g. <c>img</c> for "455 img/s".</summary>
    protected string Unit { get; }

    /// <summary>A progress display counting examples in <paramref name="unit"/>.</summary>
    protected TrainingProgress(string unit) => Unit = unit;

    /// <summary>Runs <paramref name="body"/> as a phase of <paramref name="totalSteps"/> steps, showing what it reports.</summary>
    public abstract T Run<T>(string phase, long totalSteps, Func<StepReport, T> body);

    /// <summary>Writes a line of information between phases.</summary>
    public abstract void Info(string line);

    /// <summary>Writes the results: a Spectre table on a live console, a markdown table in plain mode (logs, CI).</summary>
    public abstract void Results(IReadOnlyList<RunResult> results);

    /// <summary>True when progress should be plain lines: asked for, CI=true, or output redirected.</summary>
    public static bool PlainByDefault(bool plain) =>
        plain || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) || Console.IsOutputRedirected;

    /// <summary>
    /// A live bar when the console is interactive and <paramref name="plain"/> is false; plain lines otherwise
    /// (always when <paramref name="output"/> is given).
    /// </summary>
    /// <param name="plain">The job's <c>--plain</c>.</param>
    /// <param name="output">Where plain lines go; null for the console.</param>
    /// <param name="unit">Short unit of the examples, e.g. <c>img</c> or <c>ex</c>.</param>
    public static TrainingProgress Create(bool plain, TextWriter? output = null, string unit = "ex") =>
        output is not null || PlainByDefault(plain)
            ? new PlainProgress(output ?? Console.Out, TimeSpan.FromSeconds(10), unit)
            : new LiveProgress(AnsiConsole.Console, unit);

    /// <summary>"loss 0.412 · 455 img/s" for a step report.</summary>
    protected string Describe(double loss, double examplesPerSecond) =>
        string.Format(CultureInfo.InvariantCulture, "loss {0:F3} · {1:F0} {2}/s", loss, examplesPerSecond, Unit);
}

/// <summary>
/// Spectre.Console live progress: description (phase, loss, examples/s), bar, percentage, ETA. The bar hides the
/// cursor; an interrupt (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT) shows it again before the process ends, which Spectre's
/// own cleanup does not get to do.
/// </summary>
internal sealed class LiveProgress(IAnsiConsole console, string unit) : TrainingProgress(unit)
{
    private static readonly PosixSignal[] Interrupts = [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT];

    public override T Run<T>(string phase, long totalSteps, Func<StepReport, T> body)
    {
        var registrations = new List<PosixSignalRegistration>();
        try
        {
            // The default action (ending the process) still follows: the handlers only restore the terminal.
            foreach (var signal in Interrupts) registrations.Add(PosixSignalRegistration.Create(signal, _ => RestoreCursor()));
            return console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new RemainingTimeColumn(), new ElapsedTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask(Markup.Escape(phase), maxValue: Math.Max(1, totalSteps));
                    var watch = Stopwatch.StartNew();
                    var result = body((step, loss, examples) =>
                    {
                        task.Value = step;
                        task.Description = Markup.Escape($"{phase}  {Describe(loss, examples / Math.Max(1e-9, watch.Elapsed.TotalSeconds))}");
                    });
                    task.Value = task.MaxValue;
                    return result;
                });
        }
        finally
        {
            foreach (var registration in registrations) registration.Dispose();
        }
    }

    public override void Info(string line) => console.MarkupLine(Markup.Escape(line));

    public override void Results(IReadOnlyList<RunResult> results) => console.Write(ResultsTable.ToTable(results));

    private void RestoreCursor()
    {
        console.Cursor.Show(true);
        console.WriteLine();
    }
}

/// <summary>One line every interval (and at the end of each phase) with step, loss, examples/s and ETA.</summary>
internal sealed class PlainProgress(TextWriter output, TimeSpan interval, string unit) : TrainingProgress(unit)
{
    public override T Run<T>(string phase, long totalSteps, Func<StepReport, T> body)
    {
        var watch = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        long lastStep = 0;
        double lastLoss = double.NaN;
        long lastExamples = 0;
        output.WriteLine($"{phase}: {totalSteps} steps");
        var result = body((step, loss, examples) =>
        {
            (lastStep, lastLoss, lastExamples) = (step, loss, examples);
            if (watch.Elapsed - last < interval) return;
            last = watch.Elapsed;
            output.WriteLine(Line(phase, step, totalSteps, loss, examples, watch.Elapsed));
        });
        output.WriteLine(Line(phase, lastStep, totalSteps, lastLoss, lastExamples, watch.Elapsed) + " done");
        return result;
    }

    public override void Info(string line) => output.WriteLine(line);

    public override void Results(IReadOnlyList<RunResult> results) => output.Write(ResultsTable.ToMarkdown(results));

    private string Line(string phase, long step, long total, double loss, long examples, TimeSpan elapsed)
    {
        double seconds = Math.Max(1e-9, elapsed.TotalSeconds);
        var eta = step > 0 ? TimeSpan.FromSeconds(seconds / step * (total - step)) : TimeSpan.Zero;
        return string.Format(CultureInfo.InvariantCulture, "  {0} step {1}/{2} ({3:F0}%)  {4}  elapsed {5:mm\\:ss}  ETA {6:mm\\:ss}",
            phase, step, total, 100.0 * step / Math.Max(1, total), Describe(loss, examples / seconds), elapsed, eta);
    }
}
