using System.Collections.Generic;
using System.Linq;
using OneLoRA.Training.Reporting;

namespace OneLoRA.Training.Comparison;

/// <summary>
/// One method over its seeds: mean ± sample std of the accuracy, of train + validation time (the paper's time: the
/// training steps plus the evaluation of the unmerged model), of the training's tensor memory and of the process's
/// peak RSS; its trainable parameters.
/// </summary>
public sealed record MethodSummary
{
    /// <summary>The method label, e.g. <c>OneLoRA+norms</c>.</summary>
    public required string Method { get; init; }
    /// <summary>The seeds it ran with, in run order.</summary>
    public required IReadOnlyList<int> Seeds { get; init; }
    /// <summary>Test accuracy (unmerged), a fraction.</summary>
    public required MeanStd Accuracy { get; init; }
    /// <summary>Accuracy of the merged model, a fraction.</summary>
    public required MeanStd MergedAccuracy { get; init; }
    /// <summary>Train + validation seconds.</summary>
    public required MeanStd Seconds { get; init; }
    /// <summary>Peak tensor bytes of a training step beyond the model's weights; null when a run did not measure it.</summary>
    public required MeanStd? TensorMemoryBytes { get; init; }
    /// <summary>Peak resident memory of the run's process (VmHWM), bytes.</summary>
    public required MeanStd PeakRssBytes { get; init; }
    /// <summary>Trainable parameters (the same for every seed).</summary>
    public required long TrainableParameters { get; init; }
    /// <summary>All parameters of the model.</summary>
    public required long TotalParameters { get; init; }

    /// <summary>The summaries of <paramref name="runs"/> grouped by method, in the order of <paramref name="methods"/>.</summary>
    public static IReadOnlyList<MethodSummary> Of(IReadOnlyList<string> methods, IReadOnlyList<RunResult> runs) =>
        methods.Where(method => runs.Any(r => r.Method == method)).Select(method =>
        {
            var mine = runs.Where(r => r.Method == method).ToList();
            return new MethodSummary
            {
                Method = method,
                Seeds = mine.Select(r => r.Seed).ToList(),
                Accuracy = MeanStd.Of(mine.Select(r => r.Accuracy)),
                MergedAccuracy = MeanStd.Of(mine.Select(r => r.MergedAccuracy)),
                Seconds = MeanStd.Of(mine.Select(r => r.TrainSeconds + r.EvaluationSeconds)),
                TensorMemoryBytes = mine.All(r => r.TensorMemoryBytes >= 0) ? MeanStd.Of(mine.Select(r => (double)r.TensorMemoryBytes)) : null,
                PeakRssBytes = MeanStd.Of(mine.Select(r => (double)r.PeakMemoryBytes)),
                TrainableParameters = mine.Max(r => r.TrainableParameters),
                TotalParameters = mine.Max(r => r.TotalParameters),
            };
        }).ToList();
}
