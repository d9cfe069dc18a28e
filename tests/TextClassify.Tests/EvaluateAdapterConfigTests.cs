using System.IO;
using System.Linq;
using OneLoRA;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Reporting;
using TextClassify.Cli;
using TextClassify.Training;
using Xunit;

namespace TextClassify.Tests;

/// <summary>
/// <c>evaluate --adapter DIR</c> takes the method and its options from DIR's adapter_config.json: a short LoRA r=2 run on
/// a few WordNet supersenses evaluates to the accuracy it reported with no --method/--rank/--alpha given; a disagreeing
/// option and a directory without the config are one-line errors.
/// </summary>
public class EvaluateAdapterConfigTests
{
    private static readonly string[] Labels = ["noun.act", "noun.event", "noun.process", "noun.state"];

    [Fact]
    public void EvaluateReadsTheMethodFromTheAdapterDirectory()
    {
        using var dir = new TempDir();
        var runDir = Path.Combine(dir.Path, "lora");
        var options = new RunOptions
        {
            Method = "lora", Rank = 2, Alpha = 6, Labels = Labels, MaxLen = 16, Steps = 20, Batch = 16, TestLimit = 100,
            Threads = 1, Seed = 0, Out = runDir, Plain = true,
        }.Validate();
        var result = FineTuneJob.Run(options, runDir, TrainingProgress.Create(plain: true, new StringWriter()));
        var adapter = Path.Combine(runDir, "adapter");
        string[] evaluate = ["evaluate", "--adapter", adapter, "--labels", string.Join(",", Labels), "--max-len", "16", "--test-limit", "100", "--threads", "1"];

        // Only the adapter directory (and the data): LoRA r=2, alpha 6 comes from the file and the run's accuracy comes back.
        var (code, output, error) = CliTests.Run(evaluate);
        Assert.True(code == 0, error);
        Assert.StartsWith($"LoRA r=2 adapter {adapter}", output);
        Assert.Contains($"({(long)System.Math.Round(result.Accuracy * 100)}/100)", output);
        // Options that agree with the file (an alias of the method included) change nothing.
        var agreeing = CliTests.Run([.. evaluate, "--method", "LORA", "--rank", "2", "--alpha", "6"]);
        Assert.True(agreeing.Code == 0, agreeing.Error);
        Assert.Equal(output, agreeing.Output);

        var configPath = Path.Combine(adapter, AdapterFiles.ConfigFileName);
        foreach (var (option, value, file) in new[] { ("--rank", "4", "2"), ("--method", "DoRA", "LoRA"), ("--alpha", "0", "6"), ("--train-norms", "true", "false") })
        {
            string[] extra = option == "--train-norms" ? [option] : [option, value];
            var wrong = CliTests.Run([.. evaluate, .. extra]);
            Assert.Equal(ExitCodes.InvalidOption, wrong.Code);
            // --alpha 0 means alpha = rank, so the given value is the resolved 2.
            var given = option == "--alpha" ? "2" : value;
            Assert.Equal($"error: {option} {given}: {configPath} states {file}; leave {option} out (the adapter directory gives it) or give {file}.", wrong.Error.Trim());
        }

        var empty = Directory.CreateDirectory(Path.Combine(dir.Path, "empty")).FullName;
        var missing = CliTests.Run(["evaluate", "--adapter", empty, "--labels", string.Join(",", Labels)]);
        Assert.Equal(ExitCodes.Failure, missing.Code);
        Assert.Equal($"error: --adapter {empty}: no {AdapterFiles.ConfigFileName} there ({Path.Combine(empty, AdapterFiles.ConfigFileName)}); pass the adapter/ folder that finetune writes.", missing.Error.Trim());
        Assert.Empty(missing.Output);
    }

    [Fact]
    public void EvaluateReadsAttentionOnlyFromTheTargetModules()
    {
        using var dir = new TempDir();
        var runDir = Path.Combine(dir.Path, "qkv");
        var options = new RunOptions
        {
            Method = "lora", Rank = 1, Labels = Labels, MaxLen = 16, Steps = 10, Batch = 16, TestLimit = 100,
            Threads = 1, Seed = 0, Out = runDir, Plain = true, AttentionOnly = true,
        }.Validate();
        var result = FineTuneJob.Run(options, runDir, TrainingProgress.Create(plain: true, new StringWriter()));
        var adapter = Path.Combine(runDir, "adapter");
        string[] evaluate = ["evaluate", "--adapter", adapter, "--labels", string.Join(",", Labels), "--max-len", "16", "--test-limit", "100", "--threads", "1"];

        // No --attention-only: the file's target_modules (query, key, value of every layer) say it.
        var (code, output, error) = CliTests.Run(evaluate);
        Assert.True(code == 0, error);
        Assert.StartsWith($"LoRA r=1+qkv adapter {adapter}", output);
        Assert.Contains($"({(long)System.Math.Round(result.Accuracy * 100)}/100)", output);
    }

    [Theory]
    [InlineData("[\"bert.encoder.layer.0.attention.self.query\", \"bert.encoder.layer.0.attention.self.key\", \"bert.encoder.layer.0.attention.self.value\"]", true)]
    [InlineData("[\"query\", \"key\", \"value\"]", true)]
    [InlineData("[\"query\", \"value\"]", false)]
    [InlineData("[\"bert.encoder.layer.0.attention.self.query\", \"bert.encoder.layer.0.attention.self.key\", \"bert.encoder.layer.0.attention.self.value\", \"bert.encoder.layer.0.output.dense\"]", false)]
    [InlineData("\"all-linear\"", false)]
    [InlineData("\".*query|.*key|.*value\"", false)]
    public void Attention_only_is_read_from_a_list_of_query_key_value_layers(string targets, bool expected)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, AdapterFiles.ConfigFileName);
        File.WriteAllText(path, $"{{\"peft_type\": \"LORA\", \"target_modules\": {targets}}}");
        Assert.Equal(expected, AdapterConfigOptions.TargetsAttentionOnly(path));
    }
}
