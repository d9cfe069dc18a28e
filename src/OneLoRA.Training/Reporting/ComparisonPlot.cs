using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using OneLoRA.Training.Comparison;
using ScottPlot;

namespace OneLoRA.Training.Reporting;

/// <summary>
/// The paper's plots: a bubble chart of accuracy (mean, with ± std error bars) against train + validation time, bubble
/// AREA proportional to the trainable parameters (linear; full fine-tuning capped and drawn as a ring, as the paper
/// marks "All"), and a bar chart of the training's tensor memory. Every method has its own colour; a legend names them.
/// </summary>
public static class ComparisonPlot
{
    /// <summary>Diameter in pixels of the largest uncapped bubble.</summary>
    public const float MaxDiameter = 56;

    /// <summary>Diameter of the smallest bubble, so that a method with a few hundred parameters stays visible.</summary>
    public const float MinDiameter = 5;

    /// <summary>
    /// Bubble diameters for <paramref name="summaries"/>: area ∝ trainable parameters, the largest method that is not
    /// capped at <see cref="MaxDiameter"/>; a method is capped (diameter 1.25 × the maximum, <c>Capped</c> true) when it
    /// is full fine-tuning or has more than 10× the parameters of the largest other method.
    /// </summary>
    public static IReadOnlyList<(float Diameter, bool Capped)> Diameters(IReadOnlyList<MethodSummary> summaries)
    {
        bool IsFull(MethodSummary s) => s.Method.StartsWith("Full", StringComparison.OrdinalIgnoreCase) || s.Method.StartsWith("All", StringComparison.OrdinalIgnoreCase);
        var uncapped = summaries.Where(s => !IsFull(s)).Select(s => s.TrainableParameters).DefaultIfEmpty(1).ToList();
        double reference = Math.Max(1, uncapped.Max());
        return summaries.Select(s =>
        {
            bool capped = IsFull(s) || s.TrainableParameters > 10 * reference;
            if (capped) return (1.25f * MaxDiameter, true);
            float d = (float)(MaxDiameter * Math.Sqrt(s.TrainableParameters / reference));
            return (Math.Max(MinDiameter, d), false);
        }).ToList();
    }

    /// <summary>
    /// The colour of method <paramref name="index"/> of <paramref name="count"/>: Category10's ten hues for the first ten
    /// methods, then Category20's light tints of those hues (methods 11–20), so that the first ten never share a hue.
    /// </summary>
    public static Color ColorOf(int index, int count) =>
        index < 10 ? new ScottPlot.Palettes.Category10().GetColor(index) : new ScottPlot.Palettes.Category20().GetColor(2 * (index - 10) + 1);

    /// <summary>Writes the bubble chart as a PNG (headless; ScottPlot renders with SkiaSharp), atomically.</summary>
    public static void Save(IReadOnlyList<MethodSummary> summaries, string path, string title = "Fine-tuning: accuracy vs. time", int width = 1250, int height = 620)
    {
        var plot = new Plot();
        var diameters = Diameters(summaries);
        for (int i = 0; i < summaries.Count; i++)
        {
            var s = summaries[i];
            var color = ColorOf(i, summaries.Count);
            double x = s.Seconds.Mean, y = 100 * s.Accuracy.Mean;
            var (diameter, capped) = diameters[i];
            var bubble = plot.Add.Marker(x, y, capped ? MarkerShape.OpenCircle : MarkerShape.FilledCircle, diameter, capped ? color : color.WithAlpha(0.55));
            if (capped) bubble.MarkerStyle.LineWidth = 3;
            if (!double.IsNaN(s.Accuracy.Std))
            {
                var bar = plot.Add.ErrorBar([x], [y], [100 * s.Accuracy.Std]);
                bar.Color = color;
                bar.LineWidth = 2;
            }
            var dot = plot.Add.Marker(x, y, MarkerShape.FilledCircle, 4, color);
            dot.LegendText = $"{s.Method}: {s.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture)} params" + (capped ? " (bubble capped)" : "");
        }
        plot.Title(title);
        plot.XLabel("train + validation time (s), mean over seeds");
        plot.YLabel("test accuracy (%), mean ± std");
        if (summaries.Count > 0)
        {
            // Outside the data area, right of the axes, so that it never covers a bubble or an error bar.
            plot.ShowLegend(Edge.Right);
            plot.Legend.FontSize = 11;
        }
        plot.Axes.Margins(0.25, 0.25);
        if (summaries.Count > 0)
        {
            // Room for the bubbles and error bars, which autoscaling (anchor points only) would clip.
            double xMin = summaries.Min(s => s.Seconds.Mean), xMax = summaries.Max(s => s.Seconds.Mean);
            double yMin = summaries.Min(s => 100 * (s.Accuracy.Mean - (double.IsNaN(s.Accuracy.Std) ? 0 : s.Accuracy.Std)));
            double yMax = summaries.Max(s => 100 * (s.Accuracy.Mean + (double.IsNaN(s.Accuracy.Std) ? 0 : s.Accuracy.Std)));
            double xPad = Math.Max(1, 0.15 * (xMax - xMin)), yPad = Math.Max(0.5, 0.15 * (yMax - yMin));
            plot.Axes.SetLimits(Math.Max(0, xMin - xPad), xMax + xPad, yMin - 3 * yPad, yMax + yPad);
        }
        SaveAtomically(plot, path, width, height);
    }

    /// <summary>Writes the tensor-memory bar chart (mean ± std per method, in the bubble chart's colours) as a PNG, atomically.</summary>
    public static void SaveMemory(IReadOnlyList<MethodSummary> summaries, string path, string title = "Training tensor memory", int width = 1000, int height = 420)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < summaries.Count; i++)
        {
            var memory = summaries[i].TensorMemoryBytes;
            double mib = memory is null ? 0 : memory.Mean / (1024.0 * 1024.0);
            double err = memory is null || double.IsNaN(memory.Std) ? 0 : memory.Std / (1024.0 * 1024.0);
            bars.Add(new Bar { Position = i, Value = mib, Error = err, FillColor = ColorOf(i, summaries.Count), Label = mib.ToString("F2", CultureInfo.InvariantCulture) });
            ticks.Add(new Tick(i, summaries[i].Method));
        }
        var series = plot.Add.Bars(bars);
        series.ValueLabelStyle.FontSize = 11;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = -30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperRight;
        plot.Axes.Bottom.MinimumSize = 120;
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel("MiB (peak during a training step)");
        SaveAtomically(plot, path, width, height);
    }

    /// <summary>The bubble chart of single runs (one per method, no error bars).</summary>
    public static void Save(IReadOnlyList<RunResult> results, string path, string title = "Fine-tuning: accuracy vs. time", int width = 1250, int height = 620) =>
        Save(MethodSummary.Of(results.Select(r => r.Method).Distinct().ToList(), results), path, title, width, height);

    private static void SaveAtomically(Plot plot, string path, int width, int height)
    {
        // Atomic: a failed render never leaves half a PNG under the final name.
        var temporary = path + ".tmp";
        plot.SavePng(temporary, width, height);
        System.IO.File.Move(temporary, path, overwrite: true);
    }
}
