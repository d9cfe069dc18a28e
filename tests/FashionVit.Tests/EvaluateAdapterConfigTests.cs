using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using FashionVit.Reporting;
using OneLoRA.Datasets;
using OneLoRA;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Reporting;
using Xunit;

namespace FashionVit.Tests;

/// <summary>
/// <c>evaluate --adapter DIR</c> takes the method and its options from DIR's adapter_config.json: a LoRA r=2 run evaluates
/// to the accuracy it reported with no --method/--rank given; a disagreeing option and a directory without the config are
/// one-line errors. The program runs as its own process on a tiny ViT and a small fake Fashion-MNIST.
/// </summary>
public sealed class EvaluateAdapterConfigTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("fashionvit-evalopts-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Evaluate_reads_the_method_from_the_adapter_directory()
    {
        var data = FakeData();
        string[] where = ["--data", data, "--cache", Path.Combine(root, "cache"), "--eval-batch", "50", "--target-classes", "2,3"];
        string[] tiny = [.. where, "--patch", "7", "--dim", "8", "--depth", "1", "--heads", "1", "--mlp-ratio", "1",
            "--pretrain-steps", "3", "--steps", "3", "--batch", "8", "--pretrain-batch", "8", "--source-classes", "0,1"];
        var output = Path.Combine(root, "out");
        var run = Run(["finetune", .. tiny, "--method", "lora", "--rank", "2", "--alpha", "6", "--train-biases", "--out", output]);
        Assert.True(run.Code == 0, run.Error);
        var result = FashionVitResult.Load(Path.Combine(output, RunResult.FileName));
        Assert.Equal("LoRA r=2+biases", result.Method);
        var adapter = Path.Combine(output, "adapter");
        string[] evaluate = ["evaluate", .. where, "--base", result.Checkpoint, "--adapter", adapter];

        // Only the adapter directory: the file's LoRA r=2, alpha 6 with biases is attached, and the run's accuracy comes back.
        var plain = Run(evaluate);
        Assert.True(plain.Code == 0, plain.Error);
        Assert.StartsWith($"LoRA r=2+biases adapter {adapter}", plain.Output);
        Assert.Contains($"accuracy {result.Accuracy.ToString("P2", CultureInfo.InvariantCulture)} (", plain.Output);
        // Options that agree with the file (an alias of the method included) change nothing.
        var agreeing = Run([.. evaluate, "--method", "LORA", "--rank", "2", "--alpha", "6", "--train-biases"]);
        Assert.True(agreeing.Code == 0, agreeing.Error);
        Assert.Equal(plain.Output, agreeing.Output);

        var configPath = Path.Combine(adapter, AdapterFiles.ConfigFileName);
        foreach (var (option, value, file) in new[] { ("--rank", "4", "2"), ("--method", "OneLoRA", "LoRA"), ("--alpha", "2", "6") })
        {
            var wrong = Run([.. evaluate, option, value]);
            Assert.Equal(ExitCodes.InvalidOption, wrong.Code);
            Assert.Equal($"error: {option} {value}: {configPath} states {file}; leave {option} out (the adapter directory gives it) or give {file}.", wrong.Error.Trim());
        }

        var empty = Directory.CreateDirectory(Path.Combine(root, "empty")).FullName;
        var missing = Run(["evaluate", .. where, "--base", result.Checkpoint, "--adapter", empty]);
        Assert.Equal(ExitCodes.Failure, missing.Code);
        Assert.Equal($"error: --adapter {empty}: no {AdapterFiles.ConfigFileName} there ({Path.Combine(empty, AdapterFiles.ConfigFileName)}); pass the adapter/ folder that finetune writes.", missing.Error.Trim());
    }

    private static string Apphost => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "FashionVit.exe" : "FashionVit");

    private string FakeData(int count = 40)
    {
        var directory = Directory.CreateDirectory(Path.Combine(root, "data")).FullName;
        foreach (var prefix in new[] { "train", "t10k" })
        {
            var pixels = new byte[count * 28 * 28];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 37 % 251);
            File.WriteAllBytes(Path.Combine(directory, $"{prefix}-images-idx3-ubyte"), Idx(0x803, [count, 28, 28], pixels));
            File.WriteAllBytes(Path.Combine(directory, $"{prefix}-labels-idx1-ubyte"), Idx(0x801, [count], Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray()));
        }
        return directory;
    }

    private static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    private static (int Code, string Output, string Error) Run(string[] args)
    {
        var start = new ProcessStartInfo(Apphost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["CI"] = "true";
        start.Environment.Remove(FashionMnist.DirectoryVariable);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(180_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"FashionVit {string.Join(' ', args)} ran past 180 s.");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    [Theory]
    [InlineData("[\"blocks.0.q\", \"blocks.0.k\", \"blocks.0.v\", \"blocks.1.q\", \"blocks.1.k\", \"blocks.1.v\"]", true)]
    [InlineData("[\"blocks.0.q\", \"blocks.0.v\"]", false)]
    [InlineData("[\"blocks.0.q\", \"blocks.0.k\", \"blocks.0.v\", \"blocks.0.fc1\"]", false)]
    [InlineData("\"all-linear\"", false)]
    public void Attention_only_is_read_from_the_target_modules(string targets, bool expected)
    {
        var path = Path.Combine(root, "adapter_config.json");
        File.WriteAllText(path, $"{{\"peft_type\": \"LORA\", \"target_modules\": {targets}}}");
        Assert.Equal(expected, FashionVit.Cli.AdapterConfigOptions.TargetsAttentionOnly(path));
    }
}
