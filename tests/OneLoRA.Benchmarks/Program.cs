using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using OneLoRA;
using OneLoRA.Benchmarks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// Training-step time ratios for one ViT-Base-sized transformer block (issue #2's benchmark).
// Ratios, not seconds: every variant is timed once per round, in rotating order, so load from other
// processes falls on all of them alike; the figure per variant is its median over rounds.
//
//   dotnet run -c Release --project tests/OneLoRA.Benchmarks -- [--rounds 15] [--warmup 3] [--batch 8] [--tokens 197]
//       [--methods OneLoRA,LoRA,...] [--threads N] [--out report.md]
//
// Variants: frozen (all linears frozen, no adapter), naive (the paper's Listing 1 inline: linear(x) + b·x.sum(-1)),
// full (everything trainable), and one per PEFT method name (attached through Peft.Attach and called the way
// generated interceptors call it, PeftRuntime.Forward). In every variant the two LayerNorms are trainable, so the
// backward pass runs through the whole block even when every linear is frozen.

var args2 = Args.Parse(args);
int rounds = args2.Int("rounds", 15), warmup = args2.Int("warmup", 3), batch = args2.Int("batch", 8), tokens = args2.Int("tokens", 197);
var methods = args2.Get("methods", "OneLoRA").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
torch.set_num_threads(args2.Int("threads", Environment.ProcessorCount));
TorchRuntime.EnsureLoaded();

var variants = new List<Variant> { Variant.Frozen(), Variant.Naive(), Variant.Full() };
variants.AddRange(methods.Select(Variant.Method));

manual_seed(1);
var x = randn(batch, tokens, 768);
Console.WriteLine($"Block d=768, tokens={tokens}, batch={batch}, threads={torch.get_num_threads()}; {warmup} warm-up steps, {rounds} rounds.");
foreach (var v in variants)
    for (int i = 0; i < warmup; i++) v.Step(x);

for (int r = 0; r < rounds; r++)
{
    for (int i = 0; i < variants.Count; i++)
        variants[(i + r) % variants.Count].TimedStep(x);
    Console.Write($"\rround {r + 1}/{rounds}");
}
Console.WriteLine();

var one = variants.FirstOrDefault(v => v.Name == "OneLoRA");
var lines = new List<string>
{
    "| variant | trainable params | median step (ms) | relative to 1LoRA |",
    "|---|---:|---:|---:|",
};
foreach (var v in variants)
    lines.Add(string.Format(CultureInfo.InvariantCulture, "| {0} | {1:N0} | {2:F1} | {3} |", v.Name, v.TrainableCount, v.Median,
        one is null ? "—" : (v.Median / one.Median).ToString("F3", CultureInfo.InvariantCulture)));
if (one is not null)
{
    double Ratio(string name) => one.Median / variants.Single(v => v.Name == name).Median;
    lines.Add("");
    lines.Add(string.Format(CultureInfo.InvariantCulture, "1LoRA/frozen = {0:F3} (target ≤ 1.05)", Ratio("frozen")));
    lines.Add(string.Format(CultureInfo.InvariantCulture, "1LoRA/naive  = {0:F3} (target ≤ 1.00)", Ratio("naive")));
    lines.Add(string.Format(CultureInfo.InvariantCulture, "1LoRA/full   = {0:F3} (target ≤ 0.75)", Ratio("full")));
}
foreach (var l in lines) Console.WriteLine(l);
if (args2.Has("out")) File.WriteAllLines(args2.Get("out", ""), lines);

/// <summary>One way of training the block: its model, optimizer and timings.</summary>
sealed class Variant
{
    private readonly TransformerBlock block;
    private readonly optim.Optimizer optimizer;
    private readonly List<double> times = [];

    private Variant(string name, TransformerBlock block, IEnumerable<Parameter> trainable)
    {
        Name = name;
        this.block = block;
        var list = trainable.ToList();
        TrainableCount = list.Sum(p => p.numel());
        optimizer = optim.AdamW(list, lr: 1e-4, weight_decay: 0.01);
    }

    public string Name { get; }
    public long TrainableCount { get; }
    public double Median => times.Order().ElementAt(times.Count / 2);

    public static Variant Frozen()
    {
        var block = new TransformerBlock();
        foreach (var p in block.parameters()) p.requires_grad = false;
        foreach (var p in block.NormParameters()) p.requires_grad = true;
        return new Variant("frozen", block, block.NormParameters());
    }

    public static Variant Full()
    {
        var block = new TransformerBlock();
        return new Variant("full", block, block.parameters());
    }

    /// <summary>The paper's Listing 1 written inline: linear(x) + b * x.sum(-1, keepdim=True).</summary>
    public static Variant Naive()
    {
        var block = new TransformerBlock();
        foreach (var p in block.parameters()) p.requires_grad = false;
        foreach (var p in block.NormParameters()) p.requires_grad = true;
        var b = block.Targets.ToDictionary(t => t.Layer, t => new Parameter(zeros(t.Layer.out_features)));
        block.Linear = (layer, input) => layer.forward(input) + b[layer] * input.sum(-1, keepdim: true);
        return new Variant("naive", block, [.. block.NormParameters(), .. b.Values]);
    }

    public static Variant Method(string name)
    {
        var block = new TransformerBlock();
        var attachment = Peft.Attach(block, block.Targets, PeftMethods.Create(name));
        foreach (var p in block.NormParameters()) p.requires_grad = true;
        block.Linear = PeftRuntime.Forward;
        var trainable = attachment.TrainableParameters().Concat(block.NormParameters()).DistinctBy(p => p.Handle);
        return new Variant(attachment.Method.Name, block, trainable);
    }

    public void Step(Tensor x)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        block.forward(x).square().mean().backward();
        optimizer.step();
    }

    public void TimedStep(Tensor x)
    {
        var sw = Stopwatch.StartNew();
        Step(x);
        times.Add(sw.Elapsed.TotalMilliseconds);
    }
}

/// <summary>Minimal <c>--name value</c> parsing; unknown names are rejected so typos do not pass silently.</summary>
sealed class Args
{
    private static readonly HashSet<string> Known = ["rounds", "warmup", "batch", "tokens", "methods", "threads", "out"];
    private readonly Dictionary<string, string> values = [];

    public static Args Parse(string[] args)
    {
        var result = new Args();
        for (int i = 0; i < args.Length; i++)
        {
            var key = args[i].TrimStart('-');
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || !Known.Contains(key))
                throw new ArgumentException($"Unknown option '{args[i]}'. Options: {string.Join(", ", Known.Select(k => "--" + k))}.");
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
