using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using OneLoRA;
using OneLoRA.Benchmarks;
using OneLoRA.Training.Reporting;
using TorchSharp;
using static TorchSharp.torch;

// Ratio harness (issues #2, #3, #13). Ratios, not seconds: every variant is measured once per round, in rotating
// order, so load from other processes falls on all of them alike; a ratio is the median over rounds of the per-round
// ratio (the two variants ran next to each other in that round), printed with its interquartile range.
//
//   dotnet run -c Release --project tests/OneLoRA.Benchmarks -- [--mode step|memory|inference] [--model block|minilm]
//       [--rounds 15] [--warmup 3] [--batch N] [--tokens N] [--methods OneLoRA,LoRA,...|all] [--threads N] [--out report.md]
//   dotnet run -c Release --project tests/OneLoRA.Benchmarks -- --mode all [--rounds N] [--out report.md]
//   dotnet run -c Release --project tests/OneLoRA.Benchmarks -- --bdn dispatch|generator   (BenchmarkDotNet suites)
//
// --mode step: training-step time. Variants: frozen (linears frozen, no adapter), naive (block only: the paper's
//   Listing 1 inline), full, and one per method. LayerNorms (and MiniLM's head) train in every variant.
// --mode memory: tensor bytes of a training step from glibc's mallinfo2 (HeapMeter): held after the forward pass
//   (the autograd graph) and the sampled peak over forward + backward + step, both beyond the bytes in use before.
// --mode inference: forward without gradients: base model, a second identical base model (an A/A control: how far
//   its ratio is from 1 is the run's noise), 1LoRA unmerged, 1LoRA merged.
// --mode all: every ratio of issue #13 in one command (AllModes): each mode above on both models, every method, and
//   the dispatch suite, each in its own process, with the load average before and after each.
// block = one ViT-Base-sized transformer block (d 768, 197 tokens, batch 8); minilm = all-MiniLM-L6-v2's shape
// (batch 32, 48 tokens) with a 26-class head.

Args a;
try { a = Args.Parse(args); }
catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }

if (a.Has("bdn")) return BdnSuites.Run(a.Get("bdn", ""), args);

var mode = a.Get("mode", "step");
if (mode == "all") return AllModes.Run(a);
var modelName = a.Get("model", "block");
if (mode is not ("step" or "memory" or "inference")) { Console.Error.WriteLine($"--mode: '{mode}' is not step, memory, inference or all."); return 2; }
if (modelName is not ("block" or "minilm")) { Console.Error.WriteLine($"--model: '{modelName}' is not block or minilm."); return 2; }
if (mode == "memory")
{
    if (!HeapMeter.Available) { Console.Error.WriteLine("--mode memory needs Linux with glibc ≥ 2.33 (mallinfo2)."); return 2; }
    HeapMeter.Configure();   // before libtorch allocates anything
}

bool minilm = modelName == "minilm";
int rounds = a.Int("rounds", 15), warmup = a.Int("warmup", 3);
int batch = a.Int("batch", minilm ? 32 : 8), tokens = a.Int("tokens", minilm ? 48 : 197);
var methodArg = a.Get("methods", "OneLoRA");
var methods = methodArg == "all"
    ? PeftMethods.Names.Where(n => n is not ("MoRA" or "Full" or "None")).ToArray()   // MoRA = MoRA1; Full and None are the full and frozen variants
    : methodArg.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
torch.set_num_threads(a.Int("threads", Environment.ProcessorCount));
TorchRuntime.EnsureLoaded();
var x = SeededInit.Noise([batch, tokens, 768], 1);
var ids = BenchModels.MiniLMInputs(batch, tokens);
List<Variant> variants;
if (mode == "inference")
    variants = new[] { "base", "base copy", "unmerged", "merged" }.Select(k => minilm ? InferenceModels.MiniLM(k, ids) : InferenceModels.Block(k, x)).ToList();
else
{
    var names = new List<string> { "frozen" };
    if (!minilm) names.Add("naive");
    names.Add("full");
    names.AddRange(methods);
    variants = names.Select(n => minilm ? BenchModels.MiniLM(n, ids) : BenchModels.Block(n, x)).ToList();
}

Action<Variant> run = mode switch { "inference" => v => v.Inference(), _ => v => v.Step() };
Action<Variant> measure = mode switch { "inference" => v => v.TimedInference(), "memory" => v => v.MeasuredStep(), _ => v => v.TimedStep() };
var load = AllModes.Load();
Console.WriteLine($"{modelName}, mode {mode}, tokens={tokens}, batch={batch}, threads={torch.get_num_threads()}; {warmup} warm-up steps, {rounds} rounds; load {load}.");
foreach (var v in variants)
    for (int i = 0; i < warmup; i++) run(v);
for (int r = 0; r < rounds; r++)
{
    for (int i = 0; i < variants.Count; i++)
        measure(variants[(i + r) % variants.Count]);
    Console.Write($"\rround {r + 1}/{rounds}");
}
Console.WriteLine();
var loadAfter = AllModes.Load();

var lines = new List<string> { $"{modelName}, mode {mode}, batch {batch}, tokens {tokens}, {rounds} rounds, load {load} → {loadAfter}", "" };
if (mode != "memory") lines.Insert(1, "Ratios: median of the per-round ratios [interquartile range].");
string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
string R(Variant num, Variant den)
{
    var (m, lo, hi) = num.PairedRatio(den);
    return $"{F(m)} [{F(lo)}–{F(hi)}]";
}
string MiB(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
Variant V(string name) => variants.Single(v => v.Name == name);
var one = variants.FirstOrDefault(v => v.Name is "OneLoRA" or "1LoRA unmerged");
if (mode == "memory")
{
    lines.Add("| variant | trainable params | graph after forward (MiB) | step peak (MiB) | graph / 1LoRA | peak / 1LoRA |");
    lines.Add("|---|---:|---:|---:|---:|---:|");
    foreach (var v in variants)
    {
        var m = v.MedianMemory;
        var o = one?.MedianMemory;
        lines.Add($"| {v.Name} | {v.TrainableCount:N0} | {MiB(m.Graph)} | {MiB(m.Peak)} | {(o is { } g ? F((double)m.Graph / g.Graph) : "—")} | {(o is { } p ? F((double)m.Peak / p.Peak) : "—")} |");
    }
    if (one is not null)
    {
        double Ratio(string name, Func<StepMemory, long> f) => (double)f(one.MedianMemory) / f(V(name).MedianMemory);
        lines.Add("");
        lines.Add($"1LoRA/frozen graph = {F(Ratio("frozen", m => m.Graph))}, peak = {F(Ratio("frozen", m => m.Peak))} (target ≤ 1.02)");
        if (variants.Any(v => v.Name == "LoRA"))
            lines.Add($"1LoRA/LoRA   graph = {F(Ratio("LoRA", m => m.Graph))}, peak = {F(Ratio("LoRA", m => m.Peak))} (target < 1)");
        lines.Add($"1LoRA/full   graph = {F(Ratio("full", m => m.Graph))}, peak = {F(Ratio("full", m => m.Peak))}");
    }
}
else
{
    lines.Add(mode == "inference" ? "| variant | median forward (ms) | relative to base (paired median) |" : "| variant | trainable params | median step (ms) | relative to 1LoRA (paired median) |");
    lines.Add(mode == "inference" ? "|---|---:|---:|" : "|---|---:|---:|---:|");
    foreach (var v in variants)
        lines.Add(mode == "inference"
            ? $"| {v.Name} | {v.Median.ToString("F2", CultureInfo.InvariantCulture)} | {F(v.PairedRatio(V("base")).Median)} |"
            : $"| {v.Name} | {v.TrainableCount:N0} | {v.Median.ToString("F1", CultureInfo.InvariantCulture)} | {(one is null ? "—" : F(v.PairedRatio(one).Median))} |");
    lines.Add("");
    if (mode == "inference")
    {
        lines.Add($"merged/base   = {R(V("1LoRA merged"), V("base"))} (target ≤ 1.01)");
        lines.Add($"base copy/base = {R(V("base copy"), V("base"))} (A/A control: two identical base models; its distance from 1 is this run's noise)");
        lines.Add($"unmerged/base = {R(V("1LoRA unmerged"), V("base"))}");
    }
    else if (one is not null)
    {
        lines.Add($"1LoRA/frozen = {R(one, V("frozen"))} (target {(minilm ? "≤ 1.03" : "≤ 1.05")})");
        if (!minilm) lines.Add($"1LoRA/naive  = {R(one, V("naive"))} (target ≤ 1.00)");
        lines.Add($"1LoRA/full   = {R(one, V("full"))} (target {(minilm ? "≤ 0.70" : "≤ 0.75")})");
        foreach (var v in variants.Where(v => v != one && v.Name is not ("frozen" or "naive" or "full")))
            lines.Add($"{(v.Name == "LoRA" ? "LoRA r=1" : v.Name)} / 1LoRA = {R(v, one)}");
    }
}
foreach (var l in lines) Console.WriteLine(l);
if (a.Has("out")) File.WriteAllLines(a.Get("out", ""), lines);
return 0;

/// <summary>Minimal <c>--name value</c> parsing; unknown names are rejected so typos do not pass silently.</summary>
sealed class Args
{
    private static readonly HashSet<string> Known = ["mode", "model", "rounds", "warmup", "batch", "tokens", "methods", "threads", "out", "bdn"];
    private readonly Dictionary<string, string> values = [];

    public static Args Parse(string[] args)
    {
        var result = new Args();
        for (int i = 0; i < args.Length; i++)
        {
            var key = args[i].TrimStart('-');
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || !Known.Contains(key))
            {
                if (result.Has("bdn")) break;   // the rest belongs to BenchmarkDotNet
                throw new ArgumentException($"Unknown option '{args[i]}'. Options: {string.Join(", ", Known.Select(k => "--" + k))}.");
            }
            if (i + 1 >= args.Length) throw new ArgumentException($"Option '{args[i]}' needs a value.");
            result.values[key] = args[++i];
        }
        return result;
    }

    public bool Has(string key) => values.ContainsKey(key);
    public string Get(string key, string fallback) => values.GetValueOrDefault(key, fallback);
    public int Int(string key, int fallback) =>
        !values.TryGetValue(key, out var s) ? fallback
        : int.TryParse(s, out var n) && n > 0 ? n
        : throw new ArgumentException($"Option '--{key}' must be a positive integer, got '{s}'.");
}
