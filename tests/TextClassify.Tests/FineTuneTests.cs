using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using OneLoRA;
using OneLoRA.Training.Reporting;
using TextClassify.Cli;
using TextClassify.Training;
using Xunit;

namespace TextClassify.Tests;

/// <summary>
/// A short real fine-tune of the pretrained MiniLM on a few WordNet supersenses: 1LoRA on every encoder Linear plus a new
/// head (at its own --head-lr) learns the task well above the majority label and clearly above the head-only baseline
/// run with the same data, steps and seed; merging changes no prediction; the outputs of a run (results.json, PEFT
/// adapter files, labels, merged weights) are complete and evaluate reproduces the reported accuracy.
/// </summary>
public class FineTuneTests
{
    private static readonly string[] Labels = ["noun.act", "noun.event", "noun.process", "noun.state"];

    /// <summary>
    /// 1LoRA's required lead over head-only. Measured at this budget (docs/text-classify.md): +3.00 points with seed 0
    /// (85.75 % against 82.75 %), +4.25 with seeds 1 and 2; the bound sits well inside them.
    /// </summary>
    private const double MarginOverHead = 0.015;

    private static RunOptions Options(string method, string output) => new RunOptions
    {
        Method = method,
        Labels = Labels,
        MaxLen = 16,
        Steps = 120,
        Batch = 32,
        TestLimit = 400,
        Threads = 1,
        Seed = 0,
        Out = output,
        Plain = true,
    }.Validate();

    [Fact]
    public void OneLoRALearnsAFewSupersensesAndItsRunReproduces()
    {
        using var dir = new TempDir();
        var log = new StringWriter();
        var progress = TrainingProgress.Create(plain: true, log);
        var oneLoRADir = Path.Combine(dir.Path, "onelora");
        var oneLoRA = FineTuneJob.Run(Options("onelora", oneLoRADir), oneLoRADir, progress);

        Assert.Equal(400, oneLoRA.TestExamples);
        Assert.Equal(Labels, oneLoRA.Labels);
        // The majority label's share of the same 400 test synsets, counted independently of the job.
        var task = TextClassify.Data.TextTask.Load(null, TextClassify.Data.WordNetNouns.DefaultPath(), Labels);
        var test = TextClassify.Data.DataSplit.Subset(task.Test, 400);
        double majority = test.GroupBy(e => e.Label).Max(g => g.Count()) / 400.0;
        Assert.True(oneLoRA.Accuracy >= majority + 0.12,
            $"1LoRA {oneLoRA.Accuracy:P1} should be well above the majority label's {majority:P1}.\n{log}");
        Assert.True(oneLoRA.MacroF1 > 0.35, $"macro-F1 {oneLoRA.MacroF1:F3}");

        // The head-only baseline at the same budget (same data, steps, seed; the head at the same --head-lr 1e-2).
        var headDir = Path.Combine(dir.Path, "head");
        var head = FineTuneJob.Run(Options("head", headDir), headDir, progress);
        Assert.Equal((1e-3, 1e-2), (oneLoRA.LearningRate, oneLoRA.HeadLr));
        Assert.Equal(1e-2, head.HeadLr);
        Assert.True(oneLoRA.Accuracy >= head.Accuracy + MarginOverHead,
            $"1LoRA {oneLoRA.Accuracy:P2} should beat head-only {head.Accuracy:P2} by {MarginOverHead:P0}.\n{log}");

        // Merging changes no prediction.
        Assert.Equal(oneLoRA.Accuracy, oneLoRA.MergedAccuracy);
        Assert.Equal(0, oneLoRA.ChangedPredictions);
        Assert.True(oneLoRA.MaxLogitDifference < 1e-3, $"max logit difference {oneLoRA.MaxLogitDifference}");
        Assert.Equal(36, oneLoRA.AdaptedLayers);
        Assert.Equal(6 * (5 * 384 + 1536) + 4 * 384 + 4, oneLoRA.TrainableParameters);

        // results.json with FashionVit's field names; PEFT layout; labels beside adapters and weights.
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(oneLoRADir, RunResult.FileName)))!.AsObject();
        foreach (var key in new[] { "method", "accuracy", "macro_f1", "merged_accuracy", "head_lr", "train_seconds", "wall_seconds", "peak_memory_bytes", "trainable_parameters", "total_parameters", "arguments" })
            Assert.True(json.ContainsKey(key), $"results.json lacks '{key}'");
        Assert.Equal(oneLoRA.Accuracy, json["accuracy"]!.GetValue<double>());
        Assert.True(File.Exists(Path.Combine(oneLoRADir, "adapter", AdapterFiles.WeightsFileName)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(oneLoRADir, "adapter", AdapterFiles.ConfigFileName)))!.AsObject();
        Assert.Equal(FineTuneJob.BaseModelName, config["base_model_name_or_path"]!.GetValue<string>());
        Assert.Equal(Labels, File.ReadAllLines(Path.Combine(oneLoRADir, "adapter", FineTuneJob.LabelsFile)));
        Assert.Equal(Labels, File.ReadAllLines(Path.Combine(oneLoRADir, FineTuneJob.LabelsFile)));

        // evaluate: the run's adapters and its merged weights give the accuracy the run reported.
        var (code, output, error) = CliTests.Run("evaluate", "--run", oneLoRADir, "--threads", "1");
        Assert.True(code == 0, error);
        Assert.Contains($"({(long)System.Math.Round(oneLoRA.Accuracy * 400)}/400)", output);
        (code, output, error) = CliTests.Run("evaluate", "--run", oneLoRADir, "--merged", "--threads", "1");
        Assert.True(code == 0, error);
        Assert.Contains($"({(long)System.Math.Round(oneLoRA.MergedAccuracy * 400)}/400)", output);

        // evaluate on data with a label the model was not trained on names that label.
        var tsv = dir.File("other.tsv", string.Join("\n", Enumerable.Range(0, 50).Select(i => $"text {i}\t{(i == 17 ? "noun.animal" : "noun.act")}")) + "\n");
        (code, _, error) = CliTests.Run("evaluate", "--adapter", Path.Combine(oneLoRADir, "adapter"), "--data", tsv, "--threads", "1");
        Assert.Equal(1, code);
        Assert.Equal($"error: {tsv} line 18: label 'noun.animal' is not one of the model's 4 labels (noun.act, noun.event, noun.process, noun.state).", error.Trim());
    }
}
