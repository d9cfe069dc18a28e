using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using OneLoRA.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Training;

/// <summary>Predictions of a model on a split: accuracy, macro-F1, and the logits for comparisons (e.g. merged versus unmerged).</summary>
/// <param name="Correct">Correctly classified examples.</param>
/// <param name="Count">Examples evaluated.</param>
/// <param name="MacroF1">See <see cref="ClassificationMetrics.MacroF1"/>.</param>
/// <param name="Logits">float32 [n, classes] on the CPU; the caller disposes it.</param>
public sealed record Evaluation(long Correct, long Count, double MacroF1, Tensor Logits) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Logits.Dispose();

    /// <summary>Correct / Count.</summary>
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;

    /// <summary>How many predictions differ, and the largest absolute logit difference, between two evaluations of the same examples.</summary>
    /// <exception cref="ArgumentException">The logits have different shapes.</exception>
    public static (long Changed, double MaxDifference) Differences(Evaluation a, Evaluation b)
    {
        if (!a.Logits.shape.SequenceEqual(b.Logits.shape))
            throw new ArgumentException($"Evaluations of different shapes: [{string.Join(", ", a.Logits.shape)}] and [{string.Join(", ", b.Logits.shape)}].");
        if (a.Logits.numel() == 0) return (0, 0);
        using var scope = NewDisposeScope();
        long changed = a.Logits.argmax(1).ne(b.Logits.argmax(1)).sum().item<long>();
        double difference = (a.Logits - b.Logits).abs().max().to(ScalarType.Float64).item<double>();
        return (changed, difference);
    }
}

/// <summary>
/// Mini-batch AdamW training with cosine decay of the learning rate, and batched evaluation, for any classifier whose
/// logits an <see cref="IBatchSource"/> computes from example indices.
/// </summary>
public static class Trainer
{
    /// <summary>
    /// Trains <paramref name="parameters"/> with cross-entropy on <paramref name="data"/>: <see cref="TrainingSettings.Steps"/>
    /// steps of <see cref="TrainingSettings.Batch"/> examples, reshuffled each epoch by a generator seeded with
    /// <see cref="TrainingSettings.Seed"/> (the global RNG is not touched). Each step runs in its own dispose scope.
    /// <paramref name="model"/> is put in training mode. A loss that is not finite stops training before its step is
    /// applied.
    /// </summary>
    /// <exception cref="InvalidOperationException">There are no trainable parameters or no examples.</exception>
    /// <exception cref="NonFiniteLossException">The loss became NaN or infinite.</exception>
    public static TrainingOutcome Train(nn.Module model, IEnumerable<Parameter> parameters, IBatchSource data, TrainingSettings settings, TrainingProgress progress) =>
        Train(model, parameters, [], data, settings, progress);

    /// <summary>
    /// As <see cref="Train(nn.Module, IEnumerable{Parameter}, IBatchSource, TrainingSettings, TrainingProgress)"/>, with
    /// <paramref name="extraGroups"/>: further parameters trained at their own initial learning rate (e.g. a new head at a
    /// higher rate than the adapters), as AdamW parameter groups sharing the weight decay. The cosine schedule decays
    /// every group's rate from its own initial value to 0. Groups with no parameters are skipped; a parameter must not
    /// be in two groups.
    /// </summary>
    /// <exception cref="InvalidOperationException">There are no trainable parameters or no examples.</exception>
    /// <exception cref="ArgumentException">A group's learning rate is not a positive number, or a parameter is in two groups.</exception>
    /// <exception cref="NonFiniteLossException">The loss became NaN or infinite.</exception>
    public static TrainingOutcome Train(nn.Module model, IEnumerable<Parameter> parameters, IEnumerable<(IEnumerable<Parameter> Parameters, double LearningRate)> extraGroups,
        IBatchSource data, TrainingSettings settings, TrainingProgress progress)
    {
        settings.Validate();
        var phase = settings.Phase;
        var groups = new List<(List<Parameter> Parameters, double LearningRate)> { (parameters.ToList(), settings.LearningRate) };
        foreach (var (members, lr) in extraGroups)
        {
            if (!(lr > 0 && double.IsFinite(lr))) throw new ArgumentException($"{phase}: a parameter group's learning rate {lr} is not a positive number.", nameof(extraGroups));
            groups.Add((members.ToList(), lr));
        }
        groups.RemoveAll(g => g.Parameters.Count == 0);
        if (groups.Count == 0) throw new InvalidOperationException($"{phase}: no trainable parameters.");
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var p in groups.SelectMany(g => g.Parameters))
            if (!seen.Add(p)) throw new ArgumentException($"{phase}: a parameter of shape [{string.Join(", ", p.shape)}] is in two parameter groups.", nameof(extraGroups));
        long n = data.Count;
        if (n == 0) throw new InvalidOperationException($"{phase}: the training data holds no examples.");
        int steps = settings.Steps, batch = (int)Math.Min(settings.Batch, n);
        // Tensor memory: the native heap in use before the optimizer exists (weights, adapters, data) is the baseline;
        // the peak over the first MemorySteps steps (forward, backward, AdamW step) beyond it is the training's own.
        int memorySteps = settings.MemorySteps > 0 && HeapMeter.Available ? Math.Min(settings.MemorySteps, steps) : 0;
        long baseline = memorySteps > 0 ? HeapMeter.InUse() : 0, peak = long.MinValue;
        using var optimizer = optim.AdamW(
            groups.Select(g => new AdamW.ParamGroup(g.Parameters, lr: g.LearningRate, weight_decay: settings.WeightDecay)).ToList(),
            lr: settings.LearningRate, weight_decay: settings.WeightDecay);
        var schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, steps);
        using var generator = new Generator((ulong)settings.Seed, device: CPU);
        int perEpoch = (int)Math.Max(1, n / batch);   // full batches only: every step sees the same amount of data
        var recent = new Queue<double>();
        var watch = Stopwatch.StartNew();
        model.train();
        double finalLoss = progress.Run(phase, steps, report =>
        {
            Tensor? order = null;
            try
            {
                for (int step = 0; step < steps; step++)
                {
                    int slot = step % perEpoch;
                    if (slot == 0)
                    {
                        order?.Dispose();
                        order = randperm(n, generator: generator);
                    }
                    double value = double.NaN;
                    var current = order!;
                    void Step()
                    {
                        using var scope = NewDisposeScope();
                        var index = current.narrow(0, (long)slot * batch, batch);
                        var logits = data.Logits(index);
                        var loss = nn.functional.cross_entropy(logits, data.Labels.index(index).to(logits.device));
                        value = loss.item<float>();
                        if (!double.IsFinite(value)) throw new NonFiniteLossException(phase, step + 1, value, settings.LearningRateOption);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        schedule.step();
                    }
                    if (step < memorySteps) peak = Math.Max(peak, HeapMeter.PeakDuring(Step));
                    else Step();
                    recent.Enqueue(value);
                    if (recent.Count > 50) recent.Dequeue();
                    report(step + 1, value, (step + 1L) * batch);
                }
            }
            finally
            {
                order?.Dispose();
            }
            return recent.Average();
        });
        return new TrainingOutcome(finalLoss, steps, (long)steps * batch, watch.Elapsed.TotalSeconds,
            memorySteps > 0 ? Math.Max(0, peak - baseline) : -1);
    }

    /// <summary>
    /// Logits, accuracy and macro-F1 of <paramref name="model"/> on <paramref name="data"/>, in batches of
    /// <paramref name="batch"/> examples in order, in eval mode without gradients; the model is back in training mode after.
    /// </summary>
    public static Evaluation Evaluate(nn.Module model, IBatchSource data, int batch)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The evaluation batch must hold at least 1 example.");
        model.eval();
        using var _ = no_grad();
        var parts = new List<Tensor>();
        try
        {
            long n = data.Count;
            for (long start = 0; start < n; start += batch)
            {
                using var scope = NewDisposeScope();
                long size = Math.Min(batch, n - start);
                var logits = data.Logits(arange(start, start + size, dtype: ScalarType.Int64)).to(CPU).to(ScalarType.Float32);
                parts.Add(logits.MoveToOuterDisposeScope());
            }
            var all = parts.Count == 0 ? zeros(0, 0) : cat(parts, 0);
            if (parts.Count == 0) return new Evaluation(0, 0, 0, all);
            using var predictedTensor = all.argmax(1);
            var predicted = predictedTensor.data<long>().ToArray();
            var labels = data.Labels.data<long>().ToArray();
            long correct = predicted.Zip(labels).LongCount(p => p.First == p.Second);
            return new Evaluation(correct, n, ClassificationMetrics.MacroF1(predicted, labels), all);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
            model.train();
        }
    }
}
