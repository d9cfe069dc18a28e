using System;
using System.Collections.Generic;
using System.Linq;
using FashionVit.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FashionVit.Training;

/// <summary>Accuracy of a model on a split, with its logits for comparisons (e.g. merged versus unmerged).</summary>
/// <param name="Correct">Correctly classified images.</param>
/// <param name="Count">Images evaluated.</param>
/// <param name="Logits">float32 [n, classes] on the CPU; the caller disposes it.</param>
public sealed record Evaluation(long Correct, long Count, Tensor Logits) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Logits.Dispose();

    /// <summary>Correct / Count.</summary>
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}

/// <summary>Mini-batch AdamW training with cosine decay, and batched evaluation.</summary>
public static class Trainer
{
    /// <summary>
    /// Trains <paramref name="parameters"/> of <paramref name="model"/> on <paramref name="data"/> for
    /// <paramref name="steps"/> steps of <paramref name="batch"/> images, reshuffled each epoch by a generator seeded
    /// with <paramref name="seed"/>. Each step runs in its own dispose scope. Returns the mean loss of the last 50 steps.
    /// </summary>
    public static double Train(nn.Module<Tensor, Tensor> model, IEnumerable<Parameter> parameters, TaskData data, int steps, int batch,
        double learningRate, double weightDecay, int seed, Device device, TrainingProgress progress, string phase)
    {
        var trainable = parameters.ToList();
        if (trainable.Count == 0) throw new InvalidOperationException($"{phase}: no trainable parameters.");
        using var optimizer = optim.AdamW(trainable, lr: learningRate, weight_decay: weightDecay);
        var schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, Math.Max(1, steps));
        using var generator = new Generator((ulong)seed, device: CPU);
        long n = data.Count;
        int perEpoch = (int)Math.Max(1, n / batch);   // full batches only: every step sees the same amount of data
        var recent = new Queue<double>();
        model.train();
        return progress.Run(phase, steps, report =>
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
                    using var scope = NewDisposeScope();
                    var index = order!.narrow(0, (long)slot * batch, Math.Min(batch, n));
                    var x = data.Images.index(index).to(device);
                    var y = data.Labels.index(index).to(device);
                    optimizer.zero_grad();
                    var loss = nn.functional.cross_entropy(model.call(x), y);
                    loss.backward();
                    optimizer.step();
                    schedule.step();
                    double value = loss.item<float>();
                    if (!double.IsFinite(value))
                        throw new InvalidOperationException($"{phase}: the loss became {value} at step {step + 1}; lower the learning rate (--lr).");
                    recent.Enqueue(value);
                    if (recent.Count > 50) recent.Dequeue();
                    report(step + 1, value, (step + 1L) * Math.Min(batch, n));
                }
            }
            finally
            {
                order?.Dispose();
            }
            return recent.Count == 0 ? double.NaN : recent.Average();
        });
    }

    /// <summary>Accuracy of <paramref name="model"/> on <paramref name="data"/> in eval mode without gradients.</summary>
    public static Evaluation Evaluate(nn.Module<Tensor, Tensor> model, TaskData data, int batch, Device device)
    {
        model.eval();
        using var _ = no_grad();
        var parts = new List<Tensor>();
        long correct = 0;
        try
        {
            for (long start = 0; start < data.Count; start += batch)
            {
                using var scope = NewDisposeScope();
                long size = Math.Min(batch, data.Count - start);
                var logits = model.call(data.Images.narrow(0, start, size).to(device)).to(CPU);
                correct += logits.argmax(1).eq(data.Labels.narrow(0, start, size)).sum().item<long>();
                parts.Add(logits.MoveToOuterDisposeScope());
            }
            var all = parts.Count == 0 ? zeros(0, 0) : cat(parts, 0);
            return new Evaluation(correct, data.Count, all);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
            model.train();
        }
    }
}
