using System;

namespace OneLoRA.Training;

/// <summary>One training phase: how long, how big a batch, the AdamW step and the seed of the batch order.</summary>
public sealed record TrainingSettings
{
    /// <summary>Optimizer steps; the learning rate decays to 0 over them (cosine).</summary>
    public required int Steps { get; init; }

    /// <summary>Examples per step. Each epoch uses full batches only, so every step sees the same amount of data.</summary>
    public required int Batch { get; init; }

    /// <summary>AdamW's initial learning rate.</summary>
    public required double LearningRate { get; init; }

    /// <summary>AdamW's decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Seed of the generator that shuffles the examples each epoch.</summary>
    public int Seed { get; init; }

    /// <summary>Name of the phase in progress lines and errors, e.g. <c>fine-tune OneLoRA</c>.</summary>
    public string Phase { get; init; } = "train";

    /// <summary>
    /// Measure the training's tensor memory over this many first steps (0: not measured): the peak of the native heap
    /// in use (<see cref="Reporting.HeapMeter"/>, glibc's mallinfo2, sampled on a background thread during each of these
    /// steps' forward, backward and optimizer step) minus the heap in use before the optimizer was created (the model's
    /// weights, adapters and data). Needs Linux with glibc ≥ 2.33; elsewhere <see cref="TrainingOutcome.TensorMemoryBytes"/> is −1.
    /// </summary>
    public int MemorySteps { get; init; }

    /// <summary>The option that sets <see cref="LearningRate"/>, named when the loss stops being finite.</summary>
    public string LearningRateOption { get; init; } = "--lr";

    /// <summary>Checks the values; the message names the setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public TrainingSettings Validate()
    {
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"{Phase}: steps must be at least 1.");
        if (Batch < 1) throw new ArgumentOutOfRangeException(nameof(Batch), Batch, $"{Phase}: the batch must hold at least 1 example.");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate)))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, $"{Phase}: the learning rate must be a positive number.");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay)))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, $"{Phase}: the weight decay must be ≥ 0.");
        return this;
    }
}

/// <summary>What a training phase did.</summary>
/// <param name="FinalLoss">Mean loss of the last 50 steps.</param>
/// <param name="Steps">Steps taken.</param>
/// <param name="Examples">Examples seen (steps × batch, capped by the data set size).</param>
/// <param name="Seconds">Wall time of the steps.</param>
/// <param name="TensorMemoryBytes">Peak tensor bytes of a training step beyond the model (see <see cref="TrainingSettings.MemorySteps"/>); −1 when not measured.</param>
public sealed record TrainingOutcome(double FinalLoss, int Steps, long Examples, double Seconds, long TensorMemoryBytes = -1)
{
    /// <summary>Training throughput.</summary>
    public double ExamplesPerSecond => Examples / Math.Max(1e-9, Seconds);
}

/// <summary>
/// The training loss became NaN or infinite. The step that produced it was not applied, so the model holds the
/// weights of the last finite step.
/// </summary>
public sealed class NonFiniteLossException(string phase, int step, double loss, string learningRateOption)
    : InvalidOperationException($"{phase}: the loss became {loss} at step {step}; lower the learning rate ({learningRateOption}).")
{
    /// <summary>The phase that stopped.</summary>
    public string Phase { get; } = phase;

    /// <summary>1-based step whose loss was not finite.</summary>
    public int Step { get; } = step;

    /// <summary>The loss value (NaN or ±∞).</summary>
    public double Loss { get; } = loss;
}
