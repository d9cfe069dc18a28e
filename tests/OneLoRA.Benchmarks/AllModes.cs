using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;

namespace OneLoRA.Benchmarks;

/// <summary>
/// <c>--mode all</c>: every ratio of issue #13 from one command. Each part runs in a child process of this harness
/// (memory mode must configure malloc before libtorch allocates, and no part should inherit another's heap or
/// threads), one after the other; the load average is printed before and after each, and the reports are printed
/// together at the end (and written to <c>--out</c>).
/// </summary>
internal static class AllModes
{
    /// <summary>The 1-minute load average, or "?" off Linux.</summary>
    public static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static string LoadTriple() =>
        File.Exists("/proc/loadavg") ? string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    public static int Run(Args a)
    {
        int? rounds = a.Has("rounds") ? a.Int("rounds", 1) : null;
        string R(int fallback) => (rounds ?? fallback).ToString(CultureInfo.InvariantCulture);
        // Rounds and warm-ups sized so the whole command takes about ten minutes on a 2-core machine.
        var parts = new (string Title, string Args)[]
        {
            ("block step", $"--mode step --model block --methods all --rounds {R(5)} --warmup 1"),
            ("minilm step (batch 32, 32 tokens)", $"--mode step --model minilm --batch 32 --tokens 32 --methods all --rounds {R(3)} --warmup 1"),
            ("block inference", $"--mode inference --model block --rounds {R(10)} --warmup 2"),
            ("minilm inference", $"--mode inference --model minilm --rounds {R(8)} --warmup 1"),
            ("block memory", "--mode memory --model block --methods all --rounds 1 --warmup 1"),
            ("minilm memory", "--mode memory --model minilm --methods all --rounds 1 --warmup 1"),
            ("dispatch (BenchmarkDotNet, in process, short job)", "--bdn dispatch --inProcess --job short"),
        };
        var work = Directory.CreateTempSubdirectory("onelora-bench-");
        var report = new List<string> { $"# OneLoRA benchmarks, --mode all, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores", "" };
        var total = Stopwatch.StartNew();
        int failed = 0;
        foreach (var (title, childArgs) in parts)
        {
            var before = LoadTriple();
            Console.WriteLine($"== {title}: load {before} (1/5/15 min) ==");
            var outFile = Path.Combine(work.FullName, "part.md");
            File.Delete(outFile);
            bool bdn = childArgs.StartsWith("--bdn", StringComparison.Ordinal);
            var sw = Stopwatch.StartNew();
            var (rc, output) = RunChild(bdn ? childArgs : $"{childArgs} --out {outFile}", work.FullName);
            var after = LoadTriple();
            Console.WriteLine($"== {title}: exit {rc}, {sw.Elapsed.TotalSeconds:F0} s, load {after} ==");
            report.Add($"## {title}");
            report.Add("");
            report.Add($"`{childArgs}`: {sw.Elapsed.TotalSeconds:F0} s, load {before} → {after} (1/5/15 min)");
            report.Add("");
            if (rc != 0) { failed++; report.Add($"FAILED (exit {rc})"); }
            else if (bdn) report.AddRange(BdnSummary(output));
            else report.AddRange(File.ReadAllLines(outFile));
            report.Add("");
        }
        report.Add($"Total {total.Elapsed.TotalMinutes:F1} min.");
        Console.WriteLine();
        foreach (var l in report) Console.WriteLine(l);
        if (a.Has("out")) File.WriteAllLines(a.Get("out", ""), report);
        try { work.Delete(recursive: true); } catch (IOException) { }
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Runs this harness with <paramref name="args"/>, echoing its output; returns the exit code and the output.</summary>
    private static (int Rc, List<string> Output) RunChild(string args, string workingDirectory)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var dll = Path.Combine(AppContext.BaseDirectory, "OneLoRA.Benchmarks.dll");
        bool viaHost = Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var info = new ProcessStartInfo(self, viaHost ? $"\"{dll}\" {args}" : args)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        var output = new List<string>();
        using var child = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {self}.");
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.Add(e.Data);
            Console.WriteLine(e.Data);
        };
        child.BeginOutputReadLine();
        child.WaitForExit();
        return (child.ExitCode, output);
    }

    /// <summary>BenchmarkDotNet's summary table (the Markdown rows after "// * Summary *").</summary>
    private static IEnumerable<string> BdnSummary(List<string> output)
    {
        int start = output.FindIndex(l => l.Contains("* Summary *", StringComparison.Ordinal));
        var rows = output.Skip(Math.Max(start, 0)).Where(l => l.StartsWith('|') || l.StartsWith("BenchmarkDotNet", StringComparison.Ordinal) || l.StartsWith("  [Host]", StringComparison.Ordinal)).ToList();
        return rows.Count > 0 ? rows : ["(no BenchmarkDotNet summary found)"];
    }
}
