using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Spectre.Console;

namespace OneLoRA.Training.Reporting;

/// <summary>The end-of-run table: method, accuracy and macro-F1 (unmerged), merged accuracy, time, peak memory, trainable and total parameters.</summary>
public static class ResultsTable
{
    private static readonly string[] Headers =
        ["method", "accuracy", "macro-F1", "merged", "train time", "wall time", "peak memory", "trainable", "total params"];

    /// <summary>One row of cells per result, formatted for people.</summary>
    public static IReadOnlyList<string[]> Rows(IEnumerable<RunResult> results) => results.Select(r => new[]
    {
        r.Method,
        Percent(r.Accuracy),
        Percent(r.MacroF1),
        Percent(r.MergedAccuracy) + (r.ChangedPredictions == 0 ? "" : $" ({r.ChangedPredictions} changed)"),
        Seconds(r.TrainSeconds),
        Seconds(r.WallSeconds),
        PeakMemory.Format(r.PeakMemoryBytes),
        r.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture) + string.Format(CultureInfo.InvariantCulture, " ({0:F2}%)", 100.0 * r.TrainableParameters / System.Math.Max(1, r.TotalParameters)),
        r.TotalParameters.ToString("N0", CultureInfo.InvariantCulture),
    }).ToList();

    /// <summary>A Spectre table (renders as plain text when output is redirected).</summary>
    public static Table ToTable(IEnumerable<RunResult> results)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var h in Headers) table.AddColumn(new TableColumn(h) { Alignment = h == "method" ? Justify.Left : Justify.Right });
        foreach (var row in Rows(results)) table.AddRow(row.Select(Markup.Escape).ToArray());
        return table;
    }

    /// <summary>The same table in GitHub markdown.</summary>
    public static string ToMarkdown(IEnumerable<RunResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", Headers) + " |");
        text.AppendLine("|" + string.Join("|", Headers.Select((_, i) => i == 0 ? "---" : "---:")) + "|");
        foreach (var row in Rows(results)) text.AppendLine("| " + string.Join(" | ", row) + " |");
        return text.ToString();
    }

    /// <summary>Prints the table to the console.</summary>
    public static void Print(IEnumerable<RunResult> results) => AnsiConsole.Write(ToTable(results));

    private static string Percent(double value) => (100 * value).ToString("F2", CultureInfo.InvariantCulture) + "%";

    private static string Seconds(double value) => value.ToString("F1", CultureInfo.InvariantCulture) + " s";
}
