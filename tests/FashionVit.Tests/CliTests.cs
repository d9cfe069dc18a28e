using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using FashionVit.Cli;
using FashionVit.Training;
using OneLoRA;
using OneLoRA.Training.Cli;
using Xunit;

namespace FashionVit.Tests;

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

    [Fact]
    public void NoArgumentsGiveTheDocumentedDefaults()
    {
        var o = Parse();
        Assert.Equal("OneLoRA", o.Method);
        Assert.Equal([0, 1, 2, 3, 4], o.SourceClasses);
        Assert.Equal([5, 6, 7, 8, 9], o.TargetClasses);
        Assert.Equal(DomainShift.None, o.Shift);
        Assert.Equal(1, o.Rank);
        Assert.Null(o.Lr);
        Assert.Equal(5e-3, o.LearningRate);
        Assert.Equal(1, o.Epochs);
        Assert.Equal(0, o.Steps);
        Assert.Equal(64, o.Batch);
        Assert.Equal(1, o.Threads);
        Assert.Equal("cpu", o.Device);
        Assert.False(o.TrainNorms || o.TrainBiases || o.TrainScale || o.RandomCompression || o.Plain);
        Assert.Null(o.Out);
        Assert.Equal(RunOptionSet.ToArguments(new RunOptions()), RunOptionSet.ToArguments(o));
    }

    [Fact]
    public void EveryOptionReachesItsField()
    {
        var o = Parse(
            "--method", "1lora", "--rank", "3", "--alpha", "6", "--dropout", "0.1", "--lr", "0.02", "--weight-decay", "0.1",
            "--epochs", "2", "--steps", "7", "--batch", "16", "--eval-batch", "32", "--train-norms", "--train-biases", "--train-scale",
            "--random-compression", "--compression-seed", "11", "--mora-type", "6", "--mora-rank-rule", "MoRA", "--seed", "5",
            "--data", "/some/dir", "--source-classes", "0,2,4", "--target-classes", "1-3,9", "--shift", "invert",
            "--train-limit", "100", "--test-limit", "50", "--patch", "7", "--dim", "32", "--depth", "2", "--heads", "2",
            "--mlp-ratio", "3", "--pretrain-epochs", "4", "--pretrain-steps", "9", "--pretrain-lr", "0.003", "--pretrain-batch", "8",
            "--pretrain-seed", "13", "--threads", "2", "--device", "cuda:1", "--out", "/tmp/o", "--cache", "/tmp/c", "--plain");
        Assert.Equal("1lora", o.Method);
        Assert.Equal("OneLoRA", o.MethodName);
        Assert.Equal(3, o.Rank);
        Assert.Equal(6, o.Alpha);
        Assert.Equal(0.1, o.Dropout);
        Assert.Equal(0.02, o.LearningRate);
        Assert.Equal(0.1, o.WeightDecay);
        Assert.Equal(2, o.Epochs);
        Assert.Equal(7, o.Steps);
        Assert.Equal(16, o.Batch);
        Assert.Equal(32, o.EvalBatch);
        Assert.True(o.TrainNorms && o.TrainBiases && o.TrainScale && o.RandomCompression && o.Plain);
        Assert.Equal(11, o.CompressionSeed);
        Assert.Equal(6, o.MoRAType);
        Assert.Equal(MoRARankRule.MoRA, o.MoRARankRule);
        Assert.Equal(5, o.Seed);
        Assert.Equal("/some/dir", o.DataDirectory);
        Assert.Equal([0, 2, 4], o.SourceClasses);
        Assert.Equal([1, 2, 3, 9], o.TargetClasses);
        Assert.Equal(DomainShift.Invert, o.Shift);
        Assert.Equal(100, o.TrainLimit);
        Assert.Equal(50, o.TestLimit);
        Assert.Equal(new Model.VitConfig(7, 32, 2, 2, 3, 3), o.SourceModel);
        Assert.Equal(4, o.PretrainEpochs);
        Assert.Equal(9, o.PretrainSteps);
        Assert.Equal(0.003, o.PretrainLr);
        Assert.Equal(8, o.PretrainBatch);
        Assert.Equal(13, o.PretrainSeed);
        Assert.Equal(2, o.Threads);
        Assert.Equal("cuda:1", o.Device);
        Assert.Equal("/tmp/o", o.Out);
        Assert.Equal("/tmp/c", o.Cache);
        Assert.Equal("/tmp/c", o.CacheDirectory);

        var peft = o.ToPeftOptions();
        Assert.Equal(("1lora", 3, 6.0, 0.1, true, true, true, true, 11L, 6, MoRARankRule.MoRA),
            (peft.Method, peft.Rank, peft.Alpha, peft.Dropout, peft.TrainNorms, peft.TrainBiases, peft.TrainScale, peft.RandomCompression, peft.CompressionSeed, peft.MoRAType, peft.MoRARankRule));
    }

    [Fact]
    public void StoredArgumentsParseBackToTheSameOptions()
    {
        var o = Parse("--method", "1lora", "--lr", "0.0007", "--target-classes", "0,3,8", "--shift", "rotate", "--train-norms",
            "--random-compression", "--out", "runs/x", "--data", "/d", "--steps", "12", "--dim", "48", "--heads", "3", "--plain");
        var again = FashionVitCli.ParseRunArguments(RunOptionSet.ToArguments(o), "test");
        Assert.Equal(RunOptionSet.ToArguments(o), RunOptionSet.ToArguments(again));
        Assert.Equal((o.Lr, o.TrainNorms, o.RandomCompression, o.Shift, o.Dim, o.Out, o.DataDirectory, o.Plain),
            (again.Lr, again.TrainNorms, again.RandomCompression, again.Shift, again.Dim, again.Out, again.DataDirectory, again.Plain));
        Assert.Equal(o.TargetClasses, again.TargetClasses);
        Assert.True(FashionVitCli.ParseRunArguments(RunOptionSet.ToArguments(Parse("--method", "head")), "test").IsHeadOnly);
    }

    [Theory]
    [InlineData("--method|nope", "--method nope")]
    [InlineData("--heads|3", "--heads 3")]
    [InlineData("--patch|5", "--patch 5")]
    [InlineData("--target-classes|5,5", "class 5 is listed 2 times")]
    [InlineData("--target-classes|7", "at least two classes")]
    [InlineData("--source-classes|3,12", "class 12 is not")]
    [InlineData("--target-classes|5-x", "'5-x' is not a class")]
    [InlineData("--mora-type|3", "--mora-type 3")]
    [InlineData("--device|tpu", "--device tpu")]
    [InlineData("--lr|-1", "--lr -1")]
    [InlineData("--dropout|1", "--dropout 1")]
    [InlineData("--batch|0", "--batch 0")]
    [InlineData("--epochs|0", "--epochs 0 with --steps 0")]
    [InlineData("--threads|0", "--threads 0")]
    [InlineData("--method|head|--train-norms", "--method head trains only the new head")]
    public void InvalidValuesNameTheOption(string args, string expected)
    {
        var e = Assert.Throws<OptionException>(() => Parse(args.Split('|')));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MalformedNumbersAreParseErrors()
    {
        var command = new RootCommand();
        new RunOptionSet().AddTo(command);
        var result = command.Parse(["--rank", "x"]);
        Assert.Contains(result.Errors, e => e.Message.Contains("--rank", StringComparison.Ordinal) || e.Message.Contains("'x'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("5-9", new[] { 5, 6, 7, 8, 9 })]
    [InlineData("0,2,4", new[] { 0, 2, 4 })]
    [InlineData("0-2, 7", new[] { 0, 1, 2, 7 })]
    [InlineData("9,1", new[] { 9, 1 })]
    public void ClassListsParseAndFormatBack(string text, int[] expected)
    {
        var classes = RunOptions.ParseClasses("--x", text);
        Assert.Equal(expected, classes);
        Assert.Equal(expected, RunOptions.ParseClasses("--x", RunOptions.FormatClasses(classes)));
    }

    [Fact]
    public void HelpListsEveryOptionOfEveryCommand()
    {
        var root = FashionVitCli.Create();
        foreach (var path in new[] { "", "finetune ", "pretrain ", "evaluate ", "compare " })
        {
            var output = new StringWriter();
            int code = root.Parse(path + "--help").Invoke(new InvocationConfiguration { Output = output });
            Assert.Equal(0, code);
            var help = output.ToString();
            foreach (var option in new RunOptionSet().All)
                Assert.Contains(option.Name, help);
            if (path == "evaluate ")
                foreach (var name in new[] { "--run", "--base", "--adapter", "--weights", "--merged" }) Assert.Contains(name, help);
            if (path == "compare ") Assert.Contains("--methods", help);
        }
    }

    [Fact]
    public void LabelsAndDefaultsFollowTheMethod()
    {
        Assert.Equal("OneLoRA+norms", new RunOptions { TrainNorms = true }.MethodLabel);
        Assert.Equal("Head", new RunOptions { Method = "HEAD" }.MethodLabel);
        Assert.Equal("onelora-norms", RunOptions.Slug("OneLoRA+norms"));
        Assert.Equal("lora-r-2", RunOptions.Slug("LoRA r=2"));
        Assert.Equal(5e-4, RunOptions.DefaultLearningRate("Full"));
        Assert.Equal(2e-3, RunOptions.DefaultLearningRate("LoRA"));
        Assert.Equal(5e-3, RunOptions.DefaultLearningRate("OneLoRA"));
        Assert.Equal(5e-2, new RunOptions { Method = "head" }.LearningRate);
        Assert.Equal(0.3, new RunOptions { Method = "head", Lr = 0.3 }.LearningRate);
        Assert.Equal(Path.Combine("runs", "20250102-030405-onelora"), new RunOptions().OutputDirectory(new DateTime(2025, 1, 2, 3, 4, 5)));
    }

    [Fact]
    public void CompareEntriesCarryTheirCombinations()
    {
        var common = new RunOptions { Rank = 2, Steps = 5 };
        var entry = CompareJob.ParseMethod("onelora+norms+biases", common);
        Assert.Equal(("onelora", true, true, false, 2, 5), (entry.Method, entry.TrainNorms, entry.TrainBiases, entry.TrainScale, entry.Rank, entry.Steps));
        Assert.True(CompareJob.ParseMethod("head", common).IsHeadOnly);
        Assert.Contains("unknown combination 'bogus'", Assert.Throws<OptionException>(() => CompareJob.ParseMethod("onelora+bogus", common)).Message);
        Assert.Contains("--methods entry 'nope'", Assert.Throws<OptionException>(() => CompareJob.ParseMethod("nope", common)).Message);
        Assert.Contains(RunOptions.HeadOnly, CompareJob.DefaultMethods);
        Assert.Contains("onelora", CompareJob.DefaultMethods);
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
        var combos = OneLoRA.Training.Comparison.ComparisonPresets.Combos.Select(m => CompareJob.ParseMethod(m, common).MethodLabel);
        Assert.Equal(["None+norms", "None+biases", "None+scale", "DiffFit", "OneLoRA", "OneLoRA+biases", "OneLoRA+norms", "OneLoRA+scale",
            "OneLoRA+norms+biases", "OneLoRA+biases+scale", "OneLoRA+norms+scale", "OneLoRA+norms+biases+scale"], combos);
        var qkv = CompareJob.ParseMethod("lora+qkv", common);
        Assert.Equal(("LoRA r=1+qkv", true), (qkv.MethodLabel, qkv.AttentionOnly));
        Assert.True(CompareJob.ParseMethod("onelora+random", common).RandomCompression);
        Assert.Contains("--attention-only", Assert.Throws<OptionException>(() => CompareJob.ParseMethod("head+qkv", common)).Message);
        Assert.True(RunOptions.IsAttentionProjection("blocks.0.q") && RunOptions.IsAttentionProjection("v"));
        Assert.False(RunOptions.IsAttentionProjection("blocks.0.o") || RunOptions.IsAttentionProjection("blocks.0.fc1"));
    }

    [Fact]
    public void AttentionOnlyAdaptsTheQueryKeyAndValueLinearsAndRoundTripsThroughTheArguments()
    {
        var options = new RunOptions { Method = "lora", AttentionOnly = true, Dim = 16, Depth = 2, Heads = 2 };
        var model = new FashionVit.Model.VisionTransformer(options.SourceModel);
        model.ReplaceHead(options.TargetClasses.Count);
        var attachment = FineTuneJob.Attach(model, options);
        Assert.Equal(["blocks.0.q", "blocks.0.k", "blocks.0.v", "blocks.1.q", "blocks.1.k", "blocks.1.v"], attachment.Layers.Select(l => l.Path));
        var set = new RunOptionSet();
        var command = new Command("x");
        set.AddTo(command);
        Assert.True(set.Bind(command.Parse(RunOptionSet.ToArguments(options))).AttentionOnly);
    }

    [Fact]
    public void CudaWithoutAGpuIsAClearError()
    {
        Assert.Equal(TorchSharp.DeviceType.CPU, FineTuneJob.Prepare(new RunOptions()).type);
        if (TorchSharp.torch.cuda.is_available())
        {
            Assert.Equal(TorchSharp.DeviceType.CUDA, FineTuneJob.Prepare(new RunOptions { Device = "cuda" }).type);
            return;
        }
        var e = Assert.Throws<OptionException>(() => FineTuneJob.Prepare(new RunOptions { Device = "cuda" }));
        Assert.Contains("CUDA is not available", e.Message);
        Assert.Contains("-p:TorchBackend=cuda", e.Message);
    }
}
