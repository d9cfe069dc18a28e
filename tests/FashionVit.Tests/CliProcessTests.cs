using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using FashionVit.Cli;
using OneLoRA.Datasets;
using OneLoRA.Training.Cli;
using Xunit;

namespace FashionVit.Tests;

/// <summary>
/// The command line as a user meets it: the FashionVit program run as its own process (the apphost beside the tests),
/// its exit code, stdout and stderr. The data is a small fake Fashion-MNIST written per test, so nothing here needs the
/// real data set, and a run that got past its checks would be visible (it would train and write files).
/// </summary>
public sealed class CliProcessTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("fashionvit-cli-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static string Apphost => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "FashionVit.exe" : "FashionVit");

    /// <summary>Options that make a run take seconds: a tiny ViT, few images, few steps, the test's own cache.</summary>
    private string[] Tiny(string data, string? cache = null) =>
    [
        "--data", data, "--cache", cache ?? Path.Combine(root, "cache"), "--patch", "7", "--dim", "8", "--depth", "1", "--heads", "1",
        "--mlp-ratio", "1", "--pretrain-steps", "3", "--steps", "3", "--batch", "8", "--pretrain-batch", "8", "--eval-batch", "50",
        "--source-classes", "0,1", "--target-classes", "2,3",
    ];

    /// <summary>Writes the four idx files of a fake Fashion-MNIST: <paramref name="count"/> images per split, labels 0..9 in turn.</summary>
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

    private sealed record Outcome(int Code, string Output, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
    }

    private static Outcome Run(IEnumerable<string> args, IDictionary<string, string?>? environment = null, int timeoutSeconds = 120)
    {
        var start = new ProcessStartInfo(Apphost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["CI"] = "true";
        start.Environment.Remove(FashionMnist.DirectoryVariable);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"FashionVit {string.Join(' ', args)} ran longer than {timeoutSeconds} s.");
        }
        return new Outcome(process.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void A_malformed_number_is_one_line_naming_the_option_with_exit_code_2()
    {
        var outcome = Run(["--lr", "abc"]);
        Assert.Equal(ExitCodes.InvalidOption, outcome.Code);
        Assert.Equal("error: --lr: 'abc' is not a number.", outcome.ErrorLines[0]);
        Assert.True(outcome.ErrorLines.Length <= 2, outcome.Error);   // the error and a pointer to --help, not the help itself
        Assert.DoesNotContain("System.Nullable", outcome.Error);
        Assert.Equal("", outcome.Output);

        var steps = Run(["finetune", "--steps", "1e3"]);
        Assert.Equal((2, "error: --steps: '1e3' is not a whole number."), (steps.Code, steps.ErrorLines[0]));
    }

    [Fact]
    public void A_cache_under_a_file_fails_before_any_training_naming_the_option_and_path()
    {
        var output = Path.Combine(root, "out");
        var outcome = Run([.. Tiny(FakeData(), cache: "/dev/null/x"), "--out", output]);
        Assert.Equal(ExitCodes.InvalidOption, outcome.Code);
        Assert.Equal(["error: --cache /dev/null/x: '/dev/null' is a file, so no directory can be created under it."], outcome.ErrorLines);
        Assert.DoesNotContain("pretrain", outcome.Output);
        Assert.False(Directory.Exists(output));   // nothing ran, nothing was written
    }

    [Fact]
    public void An_output_path_naming_an_existing_file_fails_before_any_training()
    {
        var file = Path.Combine(root, "notes.txt");
        File.WriteAllText(file, "mine");
        foreach (var option in new[] { "-o", "--out" })
        {
            var outcome = Run([.. Tiny(FakeData()), option, file]);
            Assert.Equal(ExitCodes.InvalidOption, outcome.Code);
            Assert.Equal([$"error: --out {file}: this is an existing file; expected a directory."], outcome.ErrorLines);
            Assert.DoesNotContain("pretrain", outcome.Output);
            Assert.False(Directory.Exists(Path.Combine(root, "cache")));
        }
        Assert.Equal("mine", File.ReadAllText(file));
        var compare = Run(["compare", .. Tiny(FakeData()), "--out", file]);
        Assert.Equal((2, $"error: --out {file}: this is an existing file; expected a directory."), (compare.Code, compare.ErrorLines[0]));
    }

    [Fact]
    public void A_wrong_FASHION_MNIST_DIR_fails_naming_the_variable_and_the_path_instead_of_falling_back()
    {
        var wrong = Path.Combine(root, "no-such-data");
        var args = Tiny("unused").Skip(2).Append("--out").Append(Path.Combine(root, "out")).ToArray();   // no --data
        var outcome = Run(args, new Dictionary<string, string?> { [FashionMnist.DirectoryVariable] = wrong });
        Assert.Equal(ExitCodes.Failure, outcome.Code);
        Assert.Single(outcome.ErrorLines);
        Assert.StartsWith($"error: Fashion-MNIST train files not found: FASHION_MNIST_DIR={wrong}: no such directory.", outcome.ErrorLines[0]);
    }

    [Fact]
    public void Every_run_prints_and_records_the_data_folder_it_used()
    {
        var data = FakeData();
        var output = Path.Combine(root, "out");
        var outcome = Run([.. Tiny(data), "--out", output]);
        Assert.True(outcome.Code == 0, outcome.Error);
        Assert.Contains($"Data: {data} (--data)", outcome.Output);
        Assert.Contains($"from {data} (--data)", outcome.Output);   // the pretraining says it too
        var result = Reporting.FashionVitResult.Load(Path.Combine(output, "results.json"));
        Assert.Equal(data, result.DataDirectory);

        var fromVariable = Run(Tiny(data).Skip(2).Append("--out").Append(Path.Combine(root, "out2")),
            new Dictionary<string, string?> { [FashionMnist.DirectoryVariable] = data });
        Assert.True(fromVariable.Code == 0, fromVariable.Error);
        Assert.Contains($"Data: {data} (FASHION_MNIST_DIR)", fromVariable.Output);

        var evaluation = Run(["evaluate", "--run", output]);
        Assert.True(evaluation.Code == 0, evaluation.Error);
        Assert.Contains($"data {data} (--data)", evaluation.Output);
    }

    [Fact]
    public void Ctrl_C_during_the_live_progress_bar_shows_the_cursor_again()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/script"))
            throw new Xunit.Sdk.XunitException("This test drives a pseudo-terminal with util-linux `script` (/usr/bin/script, Debian's bsdutils).");
        var data = FakeData(count: 400);
        // A pretraining long enough to be interrupted, shown as Spectre's live bar (a terminal, CI unset).
        string[] words = ["exec", Apphost, "pretrain", .. Tiny(data).Select(a => a == "3" ? "1000000" : a)];
        var command = string.Join(' ', words.Select(Quote));
        var start = new ProcessStartInfo("/usr/bin/script", ["-qfec", command, "/dev/null"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.Environment.Remove("CI");
        start.Environment["TERM"] = "xterm-256color";
        using var process = Process.Start(start)!;
        var seen = new StringBuilder();
        var reader = new Thread(() =>
        {
            var buffer = new char[4096];
            int n;
            while ((n = process.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
                lock (seen) seen.Append(buffer, 0, n);
        }) { IsBackground = true };
        reader.Start();
        const string hide = "\u001b[?25l", show = "\u001b[?25h";
        var watch = Stopwatch.StartNew();
        while (!Text().Contains(hide) || !Text().Contains("pretrain"))
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(90) || process.HasExited)
                throw new Xunit.Sdk.XunitException($"No live progress bar appeared (exited: {process.HasExited}). Output:\n{Text()}");
            Thread.Sleep(100);
        }
        Thread.Sleep(500);
        process.StandardInput.Write('\u0003');   // Ctrl-C on the terminal: the line discipline sends SIGINT
        process.StandardInput.Flush();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException("FashionVit did not stop on Ctrl-C.");
        }
        reader.Join(5000);
        var text = Text();
        Assert.Equal(ExitCodes.Interrupted, process.ExitCode);
        Assert.True(text.LastIndexOf(show, StringComparison.Ordinal) > text.LastIndexOf(hide, StringComparison.Ordinal),
            "The cursor was left hidden: no show-cursor sequence after the last hide-cursor one.");

        string Text() { lock (seen) return seen.ToString(); }
        static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
    }
}
