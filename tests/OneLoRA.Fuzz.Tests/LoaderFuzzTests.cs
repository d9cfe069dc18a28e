using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using OneLoRA.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OneLoRA.Fuzz.Tests;

/// <summary>fc1 (4→6) → ReLU → fc2 (6→3), weights from a seeded generator.</summary>
internal sealed class FuzzNet : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public FuzzNet(ulong seed) : base(nameof(FuzzNet))
    {
        fc1 = nn.Linear(4, 6);
        fc2 = nn.Linear(6, 3);
        RegisterComponents();
        using var generator = new Generator(seed, device: CPU);
        using (no_grad())
            foreach (var p in parameters()) p.copy_(randn(p.shape, generator: generator));
    }

    public List<TargetLayer> Targets => [new("fc1", fc1), new("fc2", fc2)];

    public override Tensor forward(Tensor x) => fc2.call(nn.functional.relu(fc1.call(x)));
}

/// <summary>
/// Issue 11: a seeded mutation corpus for the loaders. Starting from valid files the library writes, each case applies
/// a deterministic mutation and loads it; only the documented exceptions may escape, a failed load must leave the
/// model bit-identical, managed allocation stays within a small multiple of the file size, native tensors within the
/// file's data, and no case takes more than a few seconds. Outcomes are counted and printed.
/// </summary>
public sealed class LoaderFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int CasesPerLoader = 900;
    // Fixed costs of one load (JSON reader, dictionaries, exception with its message) plus 16 bytes per file byte,
    // plus TorchSharp's own managed wrapper for each tensor a call hands back (not the loader's to save).
    private const long AllocationBase = 1 << 20;
    private const long AllocationPerByte = 16;
    private const long AllocationPerReturnedTensor = 2048;
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(5);

    private readonly string dir = Path.Combine(Path.GetTempPath(), "onelora-fuzz-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private sealed class Outcomes
    {
        public readonly SortedDictionary<string, int> Counts = new(StringComparer.Ordinal);
        public readonly List<string> Bad = [];

        public void Add(string outcome, string? detail = null)
        {
            Counts[outcome] = Counts.GetValueOrDefault(outcome) + 1;
            if (detail is not null && Bad.Count < 20) Bad.Add($"{outcome}: {detail}");
        }

        public int Of(string outcome) => Counts.GetValueOrDefault(outcome);
    }

    private static bool Documented(Exception e) => e is SafetensorsFormatException or StateLoadException;

    private static Dictionary<string, byte[]> Bits(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv =>
        {
            using var c = kv.Value.detach().contiguous();
            return c.bytes.ToArray();
        });

    private static bool Same(Dictionary<string, byte[]> a, Dictionary<string, byte[]> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && kv.Value.AsSpan().SequenceEqual(v));

    private static bool AllFinite(nn.Module model)
    {
        using var scope = NewDisposeScope();
        return model.parameters().All(p => isfinite(p).all().item<bool>());
    }

    /// <summary>Runs one case: classifies what escaped, what it allocated, how long it took.</summary>
    private static void Case(Outcomes outcomes, string label, long fileBytes, Func<(long Native, int Tensors)> load, Func<bool>? unchanged, Func<bool>? finite)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Exception? error = null;
        long nativeBytes = 0;
        int tensors = 0;
        try { (nativeBytes, tensors) = load(); }
        catch (Exception e) { error = e; }
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        if (error is not null && !Documented(error))
            outcomes.Add("untyped exception", $"{label}: {error.GetType().Name}: {error.Message.Split('\n')[0]}");
        else if (error is not null && unchanged is not null && !unchanged())
            outcomes.Add("model changed by a failed load", label);
        else if (error is null && finite is not null && !finite())
            outcomes.Add("non-finite values loaded", label);
        else
            outcomes.Add(error is null ? "loaded" : "refused (typed)");

        if (allocated > AllocationBase + AllocationPerByte * fileBytes + AllocationPerReturnedTensor * tensors)
            outcomes.Add("over-allocation", $"{label}: {allocated:N0} managed bytes for a {fileBytes:N0}-byte file");
        if (nativeBytes > fileBytes)
            outcomes.Add("over-allocation", $"{label}: {nativeBytes:N0} native tensor bytes for a {fileBytes:N0}-byte file");
        if (clock.Elapsed > Slow)
            outcomes.Add("slow", $"{label}: {clock.Elapsed.TotalSeconds:F1} s");
    }

    private void Report(string loader, Outcomes outcomes)
    {
        output.WriteLine($"{loader}: " + string.Join(", ", outcomes.Counts.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var line in outcomes.Bad) output.WriteLine("  " + line);
        foreach (var bad in new[] { "untyped exception", "model changed by a failed load", "non-finite values loaded", "over-allocation", "slow" })
            Assert.True(outcomes.Of(bad) == 0, $"{loader}: {outcomes.Of(bad)} case(s) '{bad}'. {string.Join(" | ", outcomes.Bad)}");
        Assert.True(outcomes.Of("refused (typed)") > CasesPerLoader / 3, $"{loader}: too few refusals; the mutations are not reaching the parser.");
    }

    private static byte[] ValidTensorFile(string path)
    {
        using var g = new Generator(5, device: CPU);
        var tensors = new (string, Tensor)[]
        {
            ("w", randn(4, 3, generator: g)),
            ("d", randn(5, dtype: ScalarType.Float64, generator: g)),
            ("h", randn(2, 2, generator: g).to(ScalarType.BFloat16)),
            ("i", arange(6, dtype: ScalarType.Int64)),
        };
        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "fuzz" });
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void Mutated_tensor_files_are_refused_with_documented_exceptions_only()
    {
        Directory.CreateDirectory(dir);
        var original = ValidTensorFile(Path.Combine(dir, "valid.safetensors"));
        var path = Path.Combine(dir, "case.safetensors");
        var outcomes = new Outcomes();
        var random = new Random(11);
        for (int i = 0; i < CasesPerLoader; i++)
        {
            int op = i % Mutator.Operations;
            var bytes = Mutator.Safetensors(original, op, random);
            File.WriteAllBytes(path, bytes);
            Case(outcomes, $"case {i} ({Mutator.Kind(op)})", bytes.Length, () =>
            {
                long native = 0;
                int count = 0;
                // The strict reader: every entry read, then the one-call loader.
                using (var file = Safetensors.Open(path))
                    foreach (var name in file.Names.ToList())
                        using (var t = file.Read(name)) { native = Math.Max(native, t.numel() * t.element_size()); count++; }
                var all = Safetensors.Load(path);
                long total = all.Values.Sum(t => t.numel() * t.element_size());
                foreach (var t in all.Values) t.Dispose();
                return (Math.Max(native, total), count + all.Count);
            }, unchanged: null, finite: null);
        }
        Report("Safetensors.Open/Read/Load", outcomes);
    }

    [Fact]
    public void Mutated_weight_files_leave_the_model_unchanged()
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "weights.safetensors");
        using (var source = new FuzzNet(2)) source.SaveWeights(path);
        var original = File.ReadAllBytes(path);
        using var model = new FuzzNet(3);
        var outcomes = new Outcomes();
        var random = new Random(12);
        for (int i = 0; i < CasesPerLoader; i++)
        {
            int op = i % Mutator.Operations;
            var bytes = Mutator.Safetensors(original, op, random);
            File.WriteAllBytes(path, bytes);
            var snapshot = Bits(model);
            Case(outcomes, $"case {i} ({Mutator.Kind(op)})", bytes.Length, () => { model.LoadWeights(path); return (0, 0); },
                unchanged: () => Same(snapshot, Bits(model)), finite: () => AllFinite(model));
        }
        Report("ModelWeights.LoadWeights", outcomes);
    }

    [Theory]
    [InlineData("LoRA")]
    [InlineData("OneLoRA")]
    public void Mutated_adapter_files_leave_the_model_unchanged(string method)
    {
        Directory.CreateDirectory(dir);
        using (var source = new FuzzNet(4))
        {
            var a = Peft.Attach(source, source.Targets, PeftMethods.Create(new PeftOptions { Method = method, Rank = 2 }));
            using var g = new Generator(6, device: CPU);
            using (no_grad())
                foreach (var p in a.TrainableParameters()) p.copy_(randn(p.shape, generator: g));
            a.Save(dir);
        }
        var weightsPath = Path.Combine(dir, AdapterFiles.WeightsFileName);
        var configPath = Path.Combine(dir, AdapterFiles.ConfigFileName);
        var weights = File.ReadAllBytes(weightsPath);
        var config = File.ReadAllBytes(configPath);
        using var model = new FuzzNet(4);
        Peft.Attach(model, model.Targets, PeftMethods.Create(new PeftOptions { Method = method, Rank = 2 }));
        var outcomes = new Outcomes();
        var random = new Random(13);
        for (int i = 0; i < CasesPerLoader; i++)
        {
            // Four in five cases mutate the tensor file, one in five the config.
            bool mutateConfig = i % 5 == 4;
            int op = i % Mutator.Operations;
            var w = mutateConfig ? weights : Mutator.Safetensors(weights, op, random);
            var c = mutateConfig ? Mutator.Json(config, i / 5, random) : config;
            File.WriteAllBytes(weightsPath, w);
            File.WriteAllBytes(configPath, c);
            var snapshot = Bits(model);
            Case(outcomes, $"case {i} ({(mutateConfig ? "config" : Mutator.Kind(op))})", w.Length + c.Length,
                () => { model.LoadAdapters(dir); return (0, 0); },
                unchanged: () => Same(snapshot, Bits(model)), finite: () => AllFinite(model));
        }
        Report($"LoadAdapters ({method})", outcomes);
    }
}
