using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using OneLoRA;
using TextClassify.Cli;
using TextClassify.Training;
using Xunit;

namespace TextClassify.Tests;

public class CliTests
{
    private static RunOptions Parse(params string[] args)
    {
        var command = new RootCommand();
        var set = new RunOptionSet();
        set.AddTo(command);
        var result = command.Parse(args);
        Assert.True(result.Errors.Count == 0, string.Join("; ", result.Errors.Select(e => e.Message)));
        return set.Bind(result);
    }

    /// <summary>Runs the real command line in-process with captured output; returns the exit code, stdout and stderr.</summary>
    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = TextClassifyCli.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void NoArgumentsGiveTheDocumentedDefaults()
    {
        var o = Parse();
        Assert.Equal("OneLoRA", o.Method);
        Assert.Equal(1, o.Rank);
        Assert.Null(o.Lr);
        Assert.Equal(RunOptions.DefaultLearningRate("OneLoRA"), o.LearningRate);
        Assert.Equal(300, o.Steps);
        Assert.Equal(32, o.Batch);
        Assert.Equal(32, o.MaxLen);
        Assert.Equal(2000, o.TestLimit);
        Assert.Equal(0, o.TrainLimit);
        Assert.Equal(1, o.Threads);
        Assert.Equal("cpu", o.Device);
        Assert.Null(o.Data);
        Assert.Null(o.WordNet);
        Assert.Empty(o.Labels);
        Assert.False(o.TrainNorms || o.TrainBiases || o.TrainScale || o.RandomCompression || o.Plain);
        Assert.Equal(RunOptionSet.ToArguments(new RunOptions()), RunOptionSet.ToArguments(o));
    }

    [Fact]
    public void EveryOptionReachesItsFieldAndRoundTrips()
    {
        var o = Parse(
            "--method", "lora", "--rank", "3", "--alpha", "6", "--dropout", "0.1", "--lr", "0.02", "--head-lr", "0.03", "--weight-decay", "0.1",
            "--epochs", "2", "--steps", "7", "--batch", "16", "--eval-batch", "64", "--train-norms", "--train-biases", "--train-scale",
            "--compression-seed", "11", "--mora-type", "6", "--mora-rank-rule", "MoRA", "--seed", "5",
            "--data", "/some/file.tsv", "--labels", "b, a", "--train-limit", "100", "--test-limit", "50", "--max-len", "24",
            "--threads", "2", "--device", "cuda:1", "--out", "/tmp/o", "--plain");
        Assert.Equal("LoRA", o.MethodName);
        Assert.Equal("LoRA r=3+norms+biases+scale", o.MethodLabel);
        Assert.Equal((3, 6.0, 0.1, 0.02, 0.1), (o.Rank, o.Alpha, o.Dropout, o.LearningRate, o.WeightDecay));
        Assert.Equal(0.03, o.HeadLearningRate);
        Assert.Equal((2, 7, 16, 64), (o.Epochs, o.Steps, o.Batch, o.EvalBatch));
        Assert.Equal((11L, 6, MoRARankRule.MoRA, 5), (o.CompressionSeed, o.MoRAType, o.MoRARankRule, o.Seed));
        Assert.Equal("/some/file.tsv", o.Data);
        Assert.Equal(["b", "a"], o.Labels);
        Assert.Equal((100, 50, 24, 2), (o.TrainLimit, o.TestLimit, o.MaxLen, o.Threads));
        Assert.Equal(("cuda:1", "/tmp/o"), (o.Device, o.Out));
        Assert.True(o.TrainNorms && o.TrainBiases && o.TrainScale && o.Plain);

        var again = Parse([.. RunOptionSet.ToArguments(o)]);
        Assert.Equal(RunOptionSet.ToArguments(o), RunOptionSet.ToArguments(again));
        Assert.Equal(o.Labels, again.Labels);
    }

    [Fact]
    public void StepsComeFromEpochsWhenStepsIsZero()
    {
        Assert.Equal(300, Parse().StepsFor(65_649));
        Assert.Equal(2 * (65_649 / 32), Parse("--steps", "0", "--epochs", "2").StepsFor(65_649));
        Assert.Equal(1, Parse("--steps", "0", "--batch", "64").StepsFor(10));
    }

    [Fact]
    public void LearningRatesDependOnTheMethodFamilyUnlessGiven()
    {
        Assert.True(Parse("--method", "full").LearningRate < Parse("--method", "lora").LearningRate);
        Assert.True(Parse("--method", "full").LearningRate < Parse("--method", "onelora").LearningRate);
        Assert.True(Parse("--method", "onelora").LearningRate < Parse("--method", "head").LearningRate);
        Assert.Equal(0.5, Parse("--method", "full", "--lr", "0.5").LearningRate);
    }

    [Fact]
    public void TheNewHeadHasItsOwnRateAndTheHeadMethodUsesIt()
    {
        Assert.Equal((1e-3, 1e-2), (Parse("--method", "onelora").LearningRate, Parse("--method", "onelora").HeadLearningRate));
        Assert.Equal((1e-3, 1e-2), (Parse("--method", "onelora", "--lr", "1e-3").LearningRate, Parse("--method", "onelora", "--lr", "1e-3").HeadLearningRate));
        Assert.Equal(0.05, Parse("--method", "onelora", "--head-lr", "0.05").HeadLearningRate);
        // The head method's only parameters are the head's: --head-lr, else --lr, else 1e-2, is its one rate.
        Assert.Equal((1e-2, 1e-2), (Parse("--method", "head").LearningRate, Parse("--method", "head").HeadLearningRate));
        Assert.Equal((0.02, 0.02), (Parse("--method", "head", "--head-lr", "0.02").LearningRate, Parse("--method", "head", "--head-lr", "0.02").HeadLearningRate));
        Assert.Equal(0.004, Parse("--method", "head", "--lr", "0.004").HeadLearningRate);
        Assert.Equal(["--head-lr", "0.05"], RunOptionSet.ToArguments(Parse("--head-lr", "0.05")).SkipWhile(a => a != "--head-lr").Take(2));
    }

    [Theory]
    [InlineData(new[] { "--method", "nope" }, "--method nope: unknown method")]
    [InlineData(new[] { "--method", "head", "--train-norms" }, "--method head trains only the new head")]
    [InlineData(new[] { "--max-len", "2" }, "--max-len 2: must be between 3")]
    [InlineData(new[] { "--max-len", "300" }, "--max-len 300: must be between 3")]
    [InlineData(new[] { "--batch", "0" }, "--batch 0: must be at least 1")]
    [InlineData(new[] { "--steps", "0", "--epochs", "0" }, "nothing to train")]
    [InlineData(new[] { "--lr", "-1" }, "--lr -1: the learning rate must be a positive number")]
    [InlineData(new[] { "--head-lr", "0" }, "--head-lr 0: the learning rate must be a positive number")]
    [InlineData(new[] { "--labels", "noun.animal" }, "at least two labels")]
    [InlineData(new[] { "--labels", "a,,b" }, "an empty entry")]
    [InlineData(new[] { "--labels", "a,b,a" }, "'a' is listed 2 times")]
    [InlineData(new[] { "--data", "x.tsv", "--wordnet", "data.noun" }, "--data and --wordnet: give one")]
    [InlineData(new[] { "--batch", "many" }, "--batch: 'many' is not a whole number")]
    [InlineData(new[] { "--bogus" }, "--bogus")]
    public void BadOptionsAreOneLineAndExitCode2(string[] args, string expected)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", error);
        Assert.Equal("", output);
    }

    [Fact]
    public void MissingWordNetIsOneLineWithWhereItLookedAndExitCode1()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "data.noun");
        var (code, _, error) = Run("--wordnet", path, "--out", Path.Combine(dir.Path, "run"));
        Assert.Equal(1, code);
        Assert.Equal($"error: WordNet noun data not found at {path}", error.Split(" (")[0]);
        Assert.Contains("sudo apt-get install wordnet-base", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void MalformedTsvIsNamedByLineNumberWithExitCode1()
    {
        using var dir = new TempDir();
        var tsv = dir.File("d.tsv", "good\ta\nalso good\tb\nbroken line\n");
        var (code, _, error) = Run("finetune", "--data", tsv, "--out", Path.Combine(dir.Path, "run"));
        Assert.Equal(1, code);
        Assert.Equal($"error: {tsv} line 3: no tab; expected text<TAB>label.", error.Trim());
    }

    [Fact]
    public void EvaluateNeedsSomethingToEvaluate()
    {
        var (code, _, error) = Run("evaluate");
        Assert.Equal(2, code);
        Assert.Contains("evaluate needs --run DIR", error);
        using var dir = new TempDir();
        (code, _, error) = Run("evaluate", "--run", dir.Path);
        Assert.Equal(2, code);
        Assert.Contains("no results.json there", error);
    }

    [Fact]
    public void CompareMethodEntriesReadCombinations()
    {
        var common = new RunOptions();
        Assert.Equal("OneLoRA+norms", CompareJob.ParseMethod("onelora+norms", common).MethodLabel);
        Assert.Equal("MoRA type 6", CompareJob.ParseMethod("mora+type6", common).MethodLabel);
        Assert.Equal("Head", CompareJob.ParseMethod("head", common).MethodLabel);
        Assert.Contains("unknown combination 'wings'", Assert.Throws<OneLoRA.Training.Cli.OptionException>(() => CompareJob.ParseMethod("lora+wings", common)).Message);
        var labels = CompareJob.DefaultMethods.Select(m => RunOptions.Slug(CompareJob.ParseMethod(m, common).MethodLabel)).ToList();
        Assert.Equal(labels.Count, labels.Distinct().Count());
        Assert.Equal(11, labels.Count);
    }

    [Fact]
    public void EveryPresetParsesToDistinctLabels()
    {
        var common = new RunOptions();
        foreach (var preset in OneLoRA.Training.Comparison.ComparisonPresets.Names)
        {
            var labels = OneLoRA.Training.Comparison.ComparisonPresets.Expand(preset, CompareJob.DefaultMethods).Select(m => CompareJob.ParseMethod(m, common).MethodLabel).ToList();
            Assert.Equal(labels.Count, labels.Distinct().Count());
        }
        Assert.Equal("None+norms", CompareJob.ParseMethod("none+norms", common).MethodLabel);
        Assert.Equal("LoRA r=1+qkv", CompareJob.ParseMethod("lora+qkv", common).MethodLabel);
        Assert.True(RunOptions.IsAttentionProjection("encoder.layer.0.attention.self.query"));
        Assert.False(RunOptions.IsAttentionProjection("encoder.layer.0.attention.output.dense"));
    }

    [Fact]
    public void CompareRejectsMethodsWithAPresetAndAnUnknownPreset()
    {
        foreach (var (args, message) in new[]
                 {
                     (new[] { "compare", "--methods", "onelora", "--preset", "combos" }, "--methods and --preset both given"),
                     (new[] { "compare", "--preset", "nope" }, "--preset nope: unknown preset"),
                     (new[] { "compare", "--seeds", "0" }, "--seeds 0"),
                 })
        {
            var error = new StringWriter();
            int code = TextClassifyCli.Run(args, new InvocationConfiguration { Output = TextWriter.Null, Error = error });
            Assert.Equal(2, code);
            Assert.Contains(message, error.ToString());
        }
    }
}
