using System;
using System.IO;
using OneLoRA.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Training.Tests;

/// <summary>
/// Parameter groups in the shared loop: each group trains at its own learning rate under the common cosine schedule.
/// Two scalar logits a, b (class 0 is always the label) have the known gradient softmax − one-hot, so AdamW with the
/// cosine-decayed rates can be replayed in float64 here, independently of TorchSharp's optimizer and scheduler.
/// </summary>
public class ParameterGroupTests
{
    private static readonly TrainingProgress Quiet = TrainingProgress.Create(plain: true, TextWriter.Null);

    /// <summary>PyTorch's AdamW with CosineAnnealingLR(T_max = steps) on logits [a, b], label 0, in float64.</summary>
    private static (double A, double B) Reference(double a, double b, double lrA, double lrB, double decay, int steps)
    {
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        double ma = 0, va = 0, mb = 0, vb = 0;
        for (int t = 1; t <= steps; t++)
        {
            double factor = (1 + Math.Cos(Math.PI * (t - 1) / steps)) / 2;
            double ea = Math.Exp(a), eb = Math.Exp(b);
            double ga = ea / (ea + eb) - 1, gb = eb / (ea + eb);
            (a, ma, va) = Step(a, ga, lrA * factor, ma, va, t);
            (b, mb, vb) = Step(b, gb, lrB * factor, mb, vb, t);
        }
        return (a, b);

        (double P, double M, double V) Step(double p, double g, double lr, double m, double v, int t)
        {
            p *= 1 - lr * decay;
            m = beta1 * m + (1 - beta1) * g;
            v = beta2 * v + (1 - beta2) * g * g;
            double mHat = m / (1 - Math.Pow(beta1, t)), vHat = v / (1 - Math.Pow(beta2, t));
            return (p - lr * mHat / (Math.Sqrt(vHat) + eps), m, v);
        }
    }

    private static (double A, double B) TrainPair(double lrA, double lrB, int steps, double decay)
    {
        var a = new Parameter(tensor(new[] { 0.3f }));
        var b = new Parameter(tensor(new[] { -0.2f }));
        using var labels = zeros(4, dtype: ScalarType.Int64);
        var source = new BatchSource(labels, indices => cat([a, b]).unsqueeze(0).expand(indices.shape[0], 2));
        using var module = nn.Identity();
        Trainer.Train(module, [a], [([b], lrB)], source,
            new TrainingSettings { Steps = steps, Batch = 4, LearningRate = lrA, WeightDecay = decay }, Quiet);
        return (a.item<float>(), b.item<float>());
    }

    [Fact]
    public void TheFirstStepMovesEachParameterByItsGroupsLearningRate()
    {
        var (a, b) = TrainPair(lrA: 1e-3, lrB: 1e-2, steps: 1, decay: 0);
        // Adam's first step is lr · g / (|g| + eps) ≈ lr against the gradient: a rises by 1e-3, b falls by 1e-2.
        Assert.Equal(0.3 + 1e-3, a, 1e-6);
        Assert.Equal(-0.2 - 1e-2, b, 1e-6);
    }

    [Fact]
    public void EveryGroupFollowsTheCosineScheduleFromItsOwnRate()
    {
        var (a, b) = TrainPair(lrA: 2e-3, lrB: 5e-2, steps: 4, decay: 0.01);
        var (expectedA, expectedB) = Reference(0.3, -0.2, 2e-3, 5e-2, 0.01, 4);
        Assert.Equal(expectedA, a, 1e-6);
        Assert.Equal(expectedB, b, 1e-6);
        // The same run with one shared rate ends elsewhere: the group's rate is really used.
        var (_, shared) = Reference(0.3, -0.2, 2e-3, 2e-3, 0.01, 4);
        Assert.True(Math.Abs(shared - b) > 1e-2, $"b {b} vs shared-rate {shared}");
    }

    [Fact]
    public void AParameterInTwoGroupsOrABadGroupRateIsRefused()
    {
        var a = new Parameter(tensor(new[] { 0.3f }));
        using var labels = zeros(4, dtype: ScalarType.Int64);
        var source = new BatchSource(labels, indices => a.expand(indices.shape[0]).unsqueeze(1).repeat(1, 2));
        using var module = nn.Identity();
        var settings = new TrainingSettings { Steps = 1, Batch = 4, LearningRate = 1e-3, Phase = "fine-tune X" };
        var twice = Assert.Throws<ArgumentException>(() => Trainer.Train(module, [a], [([a], 1e-2)], source, settings, Quiet));
        Assert.StartsWith("fine-tune X: a parameter of shape [1] is in two parameter groups.", twice.Message);
        var bad = Assert.Throws<ArgumentException>(() => Trainer.Train(module, [a], [([], double.NaN)], source, settings, Quiet));
        Assert.StartsWith("fine-tune X: a parameter group's learning rate NaN", bad.Message);
        Assert.Equal(0.3f, a.item<float>());
    }
}
