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
/// head beats the head-only baseline given the same steps, batch and data; the outputs of a run (results.json, PEFT
/// adapter files, labels, merged weights) are complete and evaluate reproduces the reported accuracy.
/// </summary>
public class FineTuneTests
{
    // Abstract supersenses, whose glosses a frozen sentence encoder separates less well than animals from plants.
    private static readonly string[] Labels = ["noun.act", "noun.event", "noun.process", "noun.state"];

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
    public void OneLoRABeatsTheHeadOnlyBaselineAndItsRunReproduces()
    {
        using var dir = new TempDir();
        var log = new StringWriter();
        var progress = TrainingProgress.Create(plain: true, log);
        var oneLoRADir = Path.Combine(dir.Path, "onelora");
        var oneLoRA = FineTuneJob.Run(Options("onelora", oneLoRADir), oneLoRADir, progress);
        var headDir = Path.Combine(dir.Path, "head");
        var head = FineTuneJob.Run(Options("head", headDir), headDir, progress);

        Assert.Equal(400, oneLoRA.TestExamples);
        Assert.Equal(Labels, oneLoRA.Labels);
        Assert.True(oneLoRA.Accuracy >= head.Accuracy + 0.05,
            $"1LoRA {oneLoRA.Accuracy:P1} should beat head-only {head.Accuracy:P1} by 5 points at the same budget.\n{log}");
        Assert.True(oneLoRA.MacroF1 > head.MacroF1, $"macro-F1 1LoRA {oneLoRA.MacroF1:F3}, head {head.MacroF1:F3}");
        Assert.True(oneLoRA.Accuracy > 1.0 / Labels.Length + 0.2, $"1LoRA {oneLoRA.Accuracy:P1} is near chance.");

        // Merging changes no prediction.
        Assert.Equal(oneLoRA.Accuracy, oneLoRA.MergedAccuracy);
        Assert.Equal(0, oneLoRA.ChangedPredictions);
        Assert.True(oneLoRA.MaxLogitDifference < 1e-3, $"max logit difference {oneLoRA.MaxLogitDifference}");
        Assert.Equal(36, oneLoRA.AdaptedLayers);
        Assert.Equal(0, head.AdaptedLayers);
        Assert.Equal(4 * 384 + 4, head.TrainableParameters);

        // results.json with FashionVit's field names; PEFT layout; labels beside adapters and weights.
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(oneLoRADir, RunResult.FileName)))!.AsObject();
        foreach (var key in new[] { "method", "accuracy", "macro_f1", "merged_accuracy", "train_seconds", "wall_seconds", "peak_memory_bytes", "trainable_parameters", "total_parameters", "arguments" })
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
