using System;
using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace FashionVit.Reporting;

/// <summary>
/// The paper's bubble plot: accuracy against training time, one bubble per method whose area grows with its trainable
/// parameters (log scale, as they span orders of magnitude), labelled with the method and its peak memory.
/// </summary>
public static class ComparisonPlot
{
    /// <summary>Writes the plot as a PNG (headless; ScottPlot renders with SkiaSharp).</summary>
    public static void Save(IReadOnlyList<RunResult> results, string path, int width = 900, int height = 600)
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
            var marker = plot.Add.Marker(r.TrainSeconds, 100 * r.Accuracy, MarkerShape.FilledCircle, size, color.WithAlpha(0.6));
            marker.LegendText = $"{r.Method}: {r.TrainableParameters:N0} params, {PeakMemory.Format(r.PeakMemoryBytes)}";
            var label = plot.Add.Text(r.Method, r.TrainSeconds, 100 * r.Accuracy);
            label.LabelFontSize = 12;
            label.LabelOffsetY = -size / 2 - 4;
            label.LabelAlignment = Alignment.LowerCenter;
        }
        plot.Title("Fine-tuning on Fashion-MNIST: accuracy vs. training time (bubble area ~ log trainable params)");
        plot.XLabel("training time (s)");
        plot.YLabel("test accuracy (%)");
        plot.ShowLegend(Edge.Right);
        plot.Axes.Margins(0.15, 0.2);
        plot.SavePng(path, width, height);
    }
}
