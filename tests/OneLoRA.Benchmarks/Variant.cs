using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using OneLoRA.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Benchmarks;

/// <summary>Bytes one training step holds, from <see cref="HeapMeter"/>.</summary>
/// <param name="Graph">In use after the forward pass minus before it: saved activations and the autograd graph.</param>
/// <param name="Peak">Highest in-use value during forward + backward + optimizer step, minus the value before it.</param>
public readonly record struct StepMemory(long Graph, long Peak);

/// <summary>
/// One way of training (or running) a model: a loss closure over fixed inputs, the parameters it trains, and the
/// step times and memory measured for it. Variants of one run share nothing but the inputs.
/// </summary>
public sealed class Variant
{
    private readonly Func<Tensor> loss;
    private readonly Func<Tensor>? infer;
    private readonly optim.Optimizer? optimizer;
    private readonly List<double> times = [];
    private readonly List<StepMemory> memory = [];

    public Variant(string name, Func<Tensor> loss, IEnumerable<Parameter> trainable, Func<Tensor>? infer = null)
    {
        Name = name;
        this.loss = loss;
        this.infer = infer;
        var list = trainable.DistinctBy(p => p.Handle).ToList();
        TrainableCount = list.Sum(p => p.numel());
        if (list.Count > 0) optimizer = optim.AdamW(list, lr: 1e-4, weight_decay: 0.01);
    }

    public string Name { get; }
    public long TrainableCount { get; }
    public double Median => Middle(times);
    public StepMemory MedianMemory => new((long)Middle(memory.Select(m => (double)m.Graph)), (long)Middle(memory.Select(m => (double)m.Peak)));

    private static double Middle(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }

    /// <summary>
    /// This variant's time over <paramref name="other"/>'s, paired by round: the median of the per-round ratios, and
    /// their lower and upper quartiles (the spread shows how much the load moved the ratio). Both variants ran in every
    /// round, next to each other, so a load change between rounds cancels out of each pair.
    /// </summary>
    public (double Median, double Low, double High) PairedRatio(Variant other)
    {
        var ratios = times.Zip(other.times, (a, b) => a / b).Order().ToList();
        if (ratios.Count == 0) return (double.NaN, double.NaN, double.NaN);
        return (ratios[ratios.Count / 2], ratios[(ratios.Count - 1) / 4], ratios[ratios.Count - 1 - (ratios.Count - 1) / 4]);
    }

    /// <summary>One training step in its own dispose scope.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        optimizer?.zero_grad();
        loss().backward();
        optimizer?.step();
    }

    public void TimedStep()
    {
        var sw = Stopwatch.StartNew();
        Step();
        times.Add(sw.Elapsed.TotalMilliseconds);
    }

    /// <summary>One forward pass without gradients (inference), timed.</summary>
    public void TimedInference()
    {
        if (infer is null) throw new InvalidOperationException($"{Name} has no inference pass.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sw = Stopwatch.StartNew();
        infer();
        times.Add(sw.Elapsed.TotalMilliseconds);
    }

    public void Inference()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        infer!();
    }

    /// <summary>One training step with the heap measured around the forward pass and sampled over the whole step.</summary>
    public void MeasuredStep()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var scope = NewDisposeScope();
        optimizer?.zero_grad();
        long before = HeapMeter.InUse(), afterForward = 0;
        var peak = HeapMeter.PeakDuring(() =>
        {
            var l = loss();
            afterForward = HeapMeter.InUse();
            l.backward();
            optimizer?.step();
        });
        memory.Add(new StepMemory(afterForward - before, peak - before));
    }
}
