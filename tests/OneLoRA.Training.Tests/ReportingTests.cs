using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA.Training.Reporting;
using Xunit;

namespace OneLoRA.Training.Tests;

/// <summary>A job's result with one field of its own, as FashionVit and the text job derive theirs.</summary>
public sealed record JobResult : RunResult
{
    public required string BaseModel { get; init; }
}

public sealed class ReportingTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("onelora-training-reporting-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static JobResult Sample(string method = "OneLoRA+norms", double accuracy = 0.8852, long trainable = 3333) => new()
    {
        Method = method, Accuracy = accuracy, MacroF1 = 0.8791, MergedAccuracy = accuracy, ChangedPredictions = 0, MaxLogitDifference = 2.5e-6,
        Steps = 468, Batch = 64, LearningRate = 5e-3, FinalLoss = double.NaN, TrainSeconds = 34.7, WallSeconds = 41.24,
        PeakMemoryBytes = 585L * 1024 * 1024 + 419430, TrainableParameters = trainable, TotalParameters = 140549, AdaptedLayers = 25,
        AdapterDirectory = "/runs/a/adapter", MergedWeights = "/runs/a/model.safetensors", Arguments = ["--method", "onelora"],
        BaseModel = "all-MiniLM-L6-v2",
    };

    [Fact]
    public void Results_json_uses_the_documented_snake_case_names_and_reads_back_with_the_jobs_fields()
    {
        var path = Path.Combine(directory, RunResult.FileName);
        var expected = Sample();
        expected.Save(path);

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var names = json.RootElement.EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var name in new[] { "method", "accuracy", "macro_f1", "merged_accuracy", "changed_predictions", "max_logit_difference", "steps",
                     "batch", "learning_rate", "final_loss", "train_seconds", "wall_seconds", "peak_memory_bytes", "trainable_parameters",
                     "total_parameters", "adapted_layers", "adapter_directory", "merged_weights", "arguments", "base_model" })
            Assert.Contains(name, names);
        Assert.Equal(0.8852, json.RootElement.GetProperty("accuracy").GetDouble());
        Assert.Equal("NaN", json.RootElement.GetProperty("final_loss").GetString());

        var back = RunResult.Load<JobResult>(path);
        Assert.Equal(expected with { FinalLoss = 0 }, back with { FinalLoss = 0, Arguments = expected.Arguments });
        Assert.True(double.IsNaN(back.FinalLoss));
        Assert.Equal(["--method", "onelora"], back.Arguments);
        Assert.Equal("OneLoRA+norms", RunResult.Load(path).Method);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void A_file_that_is_not_a_result_is_an_error_naming_it()
    {
        var path = Path.Combine(directory, "broken.json");
        File.WriteAllText(path, "{\"method\": 3}");
        var e = Assert.Throws<InvalidDataException>(() => RunResult.Load<JobResult>(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void The_markdown_table_has_one_formatted_row_per_result()
    {
        var markdown = ResultsTable.ToMarkdown([Sample(), Sample("Head", 0.831, 325) with { ChangedPredictions = 2, MergedAccuracy = 0.8305 }]);
        var lines = markdown.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal("| method | accuracy | macro-F1 | merged | train time | wall time | peak memory | trainable | total params |", lines[0]);
        Assert.Equal("|---|---:|---:|---:|---:|---:|---:|---:|---:|", lines[1]);
        Assert.Equal("| OneLoRA+norms | 88.52% | 87.91% | 88.52% | 34.7 s | 41.2 s | 585.4 MiB | 3,333 (2.37%) | 140,549 |", lines[2]);
        Assert.Equal("| Head | 83.10% | 87.91% | 83.05% (2 changed) | 34.7 s | 41.2 s | 585.4 MiB | 325 (0.23%) | 140,549 |", lines[3]);
        Assert.Equal(4, lines.Length);
    }

    [Fact]
    public void Plain_progress_names_the_phase_steps_loss_and_unit()
    {
        var output = new StringWriter();
        var progress = TrainingProgress.Create(plain: false, output, unit: "img");
        int value = progress.Run("pretrain", 3, report =>
        {
            for (int i = 1; i <= 3; i++) report(i, 1.0 / i, 64L * i);
            return 42;
        });
        progress.Info("Data: /d (default)");
        Assert.Equal(42, value);
        var lines = output.ToString().Split(Environment.NewLine);
        Assert.Equal("pretrain: 3 steps", lines[0]);
        Assert.StartsWith("  pretrain step 3/3 (100%)  loss 0.333 · ", lines[1]);
        Assert.Contains(" img/s  elapsed ", lines[1]);
        Assert.EndsWith(" done", lines[1]);
        Assert.Equal("Data: /d (default)", lines[2]);
    }

    [Fact]
    public void The_comparison_plot_is_a_png()
    {
        var path = Path.Combine(directory, "compare.png");
        ComparisonPlot.Save([Sample(), Sample("Head", 0.831, 325) with { TrainSeconds = 14 }], path, "test plot");
        var png = File.ReadAllBytes(path);
        Assert.True(png.Length > 1000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Peak_memory_is_positive_and_formats_in_mebibytes()
    {
        Assert.True(PeakMemory.Bytes() > 1024 * 1024);
        Assert.Equal("1.5 MiB", PeakMemory.Format(3 * 512 * 1024));
    }
}
