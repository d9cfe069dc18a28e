using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Comparison;
using OneLoRA.Training.Reporting;
using Xunit;

namespace OneLoRA.Training.Tests;

/// <summary>A comparison job that trains nothing: it records the calls and returns made-up results.</summary>
internal sealed class FakeJob(IReadOnlyList<string> methods) : IComparisonJob
{
    public List<string> Calls { get; } = [];

    public string Title => "Fake comparison";
    public string PlotTitle => "fake plot";
    public IReadOnlyList<string> Methods => methods;

    public void Prepare(TrainingProgress progress) => Calls.Add("prepare");

    public RunResult Run(ComparisonRun run, string directory, TrainingProgress progress)
    {
        var method = methods[run.MethodIndex];
        Calls.Add($"{method}/{run.Seed}");
        long trainable = method == "Full" ? 140_000 : 1_000 * (run.MethodIndex + 1);
        return new JobResult
        {
            Method = method, Accuracy = 0.80 + 0.01 * run.MethodIndex + 0.002 * run.SeedIndex, MergedAccuracy = 0.8, ChangedPredictions = 0,
            MaxLogitDifference = 0, Steps = 10, Batch = 4, LearningRate = 1e-3, FinalLoss = 0.5,
            TrainSeconds = 10 + run.MethodIndex, EvaluationSeconds = 1, WallSeconds = 15, PeakMemoryBytes = 500L << 20,
            TensorMemoryBytes = (2L + run.MethodIndex) << 20, Seed = run.Seed, TrainableParameters = trainable, TotalParameters = 140_000,
            AdaptedLayers = 3, AdapterDirectory = directory, MergedWeights = directory, Arguments = [], BaseModel = "fake",
        };
    }

    public string Describe(IReadOnlyList<RunResult> results) => $"{results.Count} made-up runs.";
}

public sealed class ComparisonTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("onelora-comparison-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static readonly TrainingProgress Quiet = TrainingProgress.Create(plain: true, TextWriter.Null);

    [Fact]
    public void The_schedule_interleaves_the_methods_within_each_seed_and_rotates_the_first_method()
    {
        var runs = ComparisonSchedule.Interleaved(3, [7, 8, 9]);
        Assert.Equal(
            [(0, 7), (1, 7), (2, 7), (1, 8), (2, 8), (0, 8), (2, 9), (0, 9), (1, 9)],
            runs.Select(r => (r.MethodIndex, r.Seed)));
        Assert.Equal(Enumerable.Range(1, 9), runs.Select(r => r.Number));
        Assert.All(runs, r => Assert.Equal(9, r.Total));
        Assert.Equal([0, 0, 0, 1, 1, 1, 2, 2, 2], runs.Select(r => r.SeedIndex));
        // One seed: the methods in order, as before.
        Assert.Equal([0, 1, 2], ComparisonSchedule.Interleaved(3, [0]).Select(r => r.MethodIndex));
        Assert.Throws<ArgumentException>(() => ComparisonSchedule.Interleaved(0, [0]));
    }

    [Fact]
    public void Seeds_count_up_from_the_given_seed()
    {
        Assert.Equal([10, 11, 12, 13], ComparisonSchedule.Seeds(4, 10));
        Assert.Equal([0], ComparisonSchedule.Seeds(1, 0));
        Assert.Contains("--seeds 0", Assert.Throws<OptionException>(() => ComparisonSchedule.Seeds(0, 0)).Message);
    }

    [Fact]
    public void Mean_and_sample_std_match_a_hand_computation()
    {
        // 0.85, 0.87, 0.86, 0.90: mean 0.87; deviations −0.02, 0, −0.01, 0.03; squares sum 0.0014; / (n − 1) = 3 → √0.000466… = 0.0216025.
        var m = MeanStd.Of([0.85, 0.87, 0.86, 0.90]);
        Assert.Equal(0.87, m.Mean, 12);
        Assert.Equal(0.021602468994692867, m.Std, 12);
        Assert.Equal(4, m.Count);
        Assert.Equal("87.00 ± 2.16", m.Format("F2", 100));
        var single = MeanStd.Of([3.5]);
        Assert.True(double.IsNaN(single.Std));
        Assert.Equal("3.5", single.Format("F1"));
        Assert.Throws<ArgumentException>(() => MeanStd.Of([]));
    }

    [Fact]
    public void A_summary_times_training_plus_validation_and_leaves_unmeasured_memory_out()
    {
        var job = new FakeJob(["A", "B"]);
        var runs = ComparisonSchedule.Interleaved(2, [0, 1]).Select(r => job.Run(r, directory, Quiet)).ToList();
        runs[0] = runs[0] with { TensorMemoryBytes = -1 };   // method A, seed 0
        var summaries = MethodSummary.Of(["A", "B", "C"], runs);
        Assert.Equal(["A", "B"], summaries.Select(s => s.Method));   // C never ran
        Assert.Equal(11, summaries[0].Seconds.Mean, 12);    // 10 s of training + 1 s of evaluation
        Assert.Equal(0, summaries[0].Seconds.Std, 12);
        Assert.Null(summaries[0].TensorMemoryBytes);
        Assert.Equal(3L << 20, summaries[1].TensorMemoryBytes!.Mean, 6);
        Assert.Equal(0.811, summaries[1].Accuracy.Mean, 12);
        Assert.Equal(Math.Sqrt(2 * 0.001 * 0.001), summaries[1].Accuracy.Std, 12);
        Assert.Equal([0, 1], summaries[1].Seeds.Order());
    }

    [Fact]
    public void Presets_expand_to_the_papers_method_lists()
    {
        Assert.Equal(["main", "combos", "compression", "budget"], ComparisonPresets.Names);
        Assert.Equal(["x", "y"], ComparisonPresets.Expand("main", ["x", "y"]));
        var combos = ComparisonPresets.Expand("combos", []);
        Assert.Equal(12, combos.Count);
        Assert.Equal(["none+norms", "none+biases", "none+scale", "difffit", "onelora"], combos.Take(5));
        Assert.Equal("onelora+biases+scale+norms", combos[^1]);
        Assert.Equal(["onelora", "onelora+random"], ComparisonPresets.Expand("Compression", []));
        Assert.Equal(["lora+qkv", "onelora"], ComparisonPresets.Expand("budget", []));
        Assert.Contains("--preset nope", Assert.Throws<OptionException>(() => ComparisonPresets.Expand("nope", [])).Message);
        Assert.Equal(["a", "b"], ComparisonPresets.Resolve("a, b", null, ["m"]));
        Assert.Equal(["m"], ComparisonPresets.Resolve(null, null, ["m"]));
        Assert.Contains("both given", Assert.Throws<OptionException>(() => ComparisonPresets.Resolve("a", "main", ["m"])).Message);
        Assert.Contains("at least one", Assert.Throws<OptionException>(() => ComparisonPresets.Resolve(" , ", null, ["m"])).Message);
    }

    [Fact]
    public void Method_entries_read_the_combinations_with_their_greek_aliases()
    {
        var entry = MethodEntry.Parse("onelora+β+gamma+norms");
        Assert.Equal("onelora", entry.Method);
        Assert.Equal([Combination.Biases, Combination.Scale, Combination.Norms], entry.Combinations);
        Assert.True(MethodEntry.Parse("lora+qkv").Has(Combination.Qkv));
        Assert.Empty(MethodEntry.Parse("full").Combinations);
        Assert.Contains("unknown combination 'wings'", Assert.Throws<OptionException>(() => MethodEntry.Parse("lora+wings")).Message);
        Assert.Contains("given twice", Assert.Throws<OptionException>(() => MethodEntry.Parse("onelora+norms+norms")).Message);
        Assert.Contains("exclude each other", Assert.Throws<OptionException>(() => MethodEntry.Parse("mora+type1+type6")).Message);
        Assert.Contains("no method name", Assert.Throws<OptionException>(() => MethodEntry.Parse("+norms")).Message);
    }

    [Fact]
    public void A_comparison_prepares_once_runs_the_interleaved_schedule_and_writes_markdown_json_and_both_plots()
    {
        var job = new FakeJob(["OneLoRA", "LoRA r=1", "Full"]);
        var output = Path.Combine(directory, "out");
        var report = MethodComparison.Run(job, [0, 1], output, Quiet);

        Assert.Equal(["prepare", "OneLoRA/0", "LoRA r=1/0", "Full/0", "LoRA r=1/1", "Full/1", "OneLoRA/1"], job.Calls);
        Assert.Equal(6, report.Runs.Count);
        Assert.Equal(["OneLoRA", "LoRA r=1", "Full"], report.Summaries.Select(s => s.Method));

        var markdown = File.ReadAllText(Path.Combine(output, MethodComparison.MarkdownFile));
        Assert.StartsWith("# Fake comparison\n\n6 made-up runs.\n", markdown);
        Assert.Contains("| method | accuracy (%) | time (s) | tensor memory (MiB) | trainable params | peak RSS (MiB) | runs |", markdown);
        // OneLoRA: accuracies 0.800 and 0.802 → 80.10 ± 0.14; time 11 s both seeds; 2 MiB; 1,000 params.
        Assert.Contains("| OneLoRA | 80.10 ± 0.14 | 11.0 ± 0.0 | 2.00 ± 0.00 | 1,000 | 500 ± 0 | 2 |", markdown);
        Assert.Contains("| 4 | LoRA r=1 | 1 | 81.20 | 80.00 | 11.0 | 1.0 | 3.00 | 500 |", markdown);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, MethodComparison.JsonFile)));
        var root = json.RootElement;
        Assert.Equal("Fake comparison", root.GetProperty("title").GetString());
        Assert.Equal([0, 1], root.GetProperty("seeds").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(root.TryGetProperty("load_average_start", out _) && root.TryGetProperty("load_average_end", out _));
        var summaries = root.GetProperty("summaries");
        Assert.Equal(3, summaries.GetArrayLength());
        var first = summaries[0];
        Assert.Equal("OneLoRA", first.GetProperty("method").GetString());
        Assert.Equal(0.801, first.GetProperty("accuracy").GetProperty("mean").GetDouble(), 12);
        Assert.Equal(2, first.GetProperty("accuracy").GetProperty("count").GetInt32());
        Assert.Equal(11, first.GetProperty("seconds").GetProperty("mean").GetDouble(), 12);
        Assert.Equal(2.0 * (1 << 20), first.GetProperty("tensor_memory_bytes").GetProperty("mean").GetDouble(), 6);
        Assert.Equal(1000, first.GetProperty("trainable_parameters").GetInt64());
        var runs = root.GetProperty("runs");
        Assert.Equal(6, runs.GetArrayLength());
        Assert.Equal("fake", runs[0].GetProperty("base_model").GetString());   // the job's own fields too
        Assert.Equal(1, runs[0].GetProperty("evaluation_seconds").GetDouble());

        foreach (var name in new[] { MethodComparison.PlotFile, MethodComparison.MemoryPlotFile })
        {
            var png = File.ReadAllBytes(Path.Combine(output, name));
            Assert.True(png.Length > 1000 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G', name);
        }
        Assert.Empty(Directory.GetFiles(output, "*.tmp"));
    }

    [Fact]
    public void A_repeated_method_label_fails_before_anything_runs()
    {
        var job = new FakeJob(["OneLoRA", "onelora"]);
        var e = Assert.Throws<OptionException>(() => MethodComparison.Run(job, [0], Path.Combine(directory, "x"), Quiet));
        Assert.Contains("2 times", e.Message);
        Assert.Empty(job.Calls);
    }

    [Fact]
    public void Bubble_area_grows_linearly_with_the_trainable_parameters_and_full_fine_tuning_is_capped()
    {
        MethodSummary Summary(string method, long trainable) => new()
        {
            Method = method, Seeds = [0], Accuracy = MeanStd.Of([0.8]), MergedAccuracy = MeanStd.Of([0.8]), Seconds = MeanStd.Of([1.0]),
            TensorMemoryBytes = null, PeakRssBytes = MeanStd.Of([1.0]), TrainableParameters = trainable, TotalParameters = 200_000,
        };
        var d = ComparisonPlot.Diameters([Summary("A", 4000), Summary("B", 1000), Summary("Full", 140_000), Summary("C", 1)]);
        Assert.Equal(ComparisonPlot.MaxDiameter, d[0].Diameter, 4);
        Assert.Equal(4.0, Math.Pow(d[0].Diameter / d[1].Diameter, 2), 4);   // 4× the parameters, 4× the area
        Assert.False(d[0].Capped || d[1].Capped);
        Assert.True(d[2].Capped);
        Assert.Equal(ComparisonPlot.MinDiameter, d[3].Diameter);
    }

    [Fact]
    public void Twenty_methods_get_twenty_different_colours()
    {
        var colours = Enumerable.Range(0, 20).Select(i => ComparisonPlot.ColorOf(i, 20).ToHex()).ToList();
        Assert.Equal(20, colours.Distinct().Count());
        // The first ten are Category10's hues whatever the count (head and 1LoRA never share a hue).
        Assert.Equal(Enumerable.Range(0, 10).Select(i => ComparisonPlot.ColorOf(i, 5).ToHex()), colours.Take(10));
    }
}
