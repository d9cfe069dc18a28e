using System;
using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace OneLoRA.Training.Reporting;

/// <summary>
/// The paper's bubble plot: accuracy against training time, one bubble per method whose area grows with its trainable
/// parameters (log scale, as they span orders of magnitude), labelled with the method and its peak memory.
/// </summary>
public static class ComparisonPlot
{
    /// <summary>Writes the plot as a PNG (headless; ScottPlot renders with SkiaSharp) titled <paramref name="title"/>.</summary>
    public static void Save(IReadOnlyList<RunResult> results, string path, string title = "Fine-tuning: accuracy vs. training time", int width = 900, int height = 600)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double maxLog = results.Select(r => Math.Log10(Math.Max(10, r.TrainableParameters))).DefaultIfEmpty(1).Max();
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            var color = palette.GetColor(i);
            // Diameter ∝ sqrt(log10 params) so area follows the parameter count's order of magnitude.
            float size = (float)(12 + 40 * Math.Sqrt(Math.Log10(Math.Max(10, r.TrainableParameters)) / maxLog));
            plot.Add.Marker(r.TrainSeconds, 100 * r.Accuracy, MarkerShape.FilledCircle, size, color.WithAlpha(0.6));
            var label = plot.Add.Text($"{r.Method}\n{r.TrainableParameters:N0} params, {PeakMemory.Format(r.PeakMemoryBytes)}", r.TrainSeconds, 100 * r.Accuracy);
            label.LabelFontSize = 11;
            label.LabelOffsetY = -size / 2 - 2;
            label.LabelAlignment = Alignment.LowerCenter;
        }
        plot.Title(title);
        plot.XLabel("training time (s); bubble area ~ log10 trainable parameters");
        plot.YLabel("test accuracy (%)");
        if (results.Count > 0)
        {
            // Room for the bubbles and their two-line labels, which autoscaling (anchor points only) would clip.
            double xMin = results.Min(r => r.TrainSeconds), xMax = results.Max(r => r.TrainSeconds);
            double yMin = results.Min(r => 100 * r.Accuracy), yMax = results.Max(r => 100 * r.Accuracy);
            double xPad = Math.Max(2, 0.2 * (xMax - xMin)), yPad = Math.Max(1, 0.15 * (yMax - yMin));
            plot.Axes.SetLimits(Math.Max(0, xMin - xPad), xMax + xPad, yMin - yPad, yMax + 2 * yPad);
        }
        // Atomic: a failed render never leaves half a PNG under the final name.
        var temporary = path + ".tmp";
        plot.SavePng(temporary, width, height);
        System.IO.File.Move(temporary, path, overwrite: true);
    }
}
