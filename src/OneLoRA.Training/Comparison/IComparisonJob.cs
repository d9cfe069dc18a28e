using System.Collections.Generic;
using OneLoRA.Training.Reporting;

namespace OneLoRA.Training.Comparison;

/// <summary>
/// What a job supplies to <see cref="MethodComparison.Run"/>: its methods, a preparation done once (pretraining, data
/// checks), and how to run one method with one seed (e.g. a child process, <see cref="ChildProcess"/>) and read back
/// its <see cref="RunResult"/>.
/// </summary>
public interface IComparisonJob
{
    /// <summary>Heading of the report, e.g. <c>FashionVit method comparison</c>.</summary>
    string Title { get; }

    /// <summary>Title of the plot.</summary>
    string PlotTitle { get; }

    /// <summary>The methods' labels, in report order; each run's <see cref="RunResult.Method"/> is one of them.</summary>
    IReadOnlyList<string> Methods { get; }

    /// <summary>Work done once before the runs (e.g. pretraining the shared checkpoint).</summary>
    void Prepare(TrainingProgress progress);

    /// <summary>Runs method <see cref="ComparisonRun.MethodIndex"/> with <see cref="ComparisonRun.Seed"/>, writing under <paramref name="directory"/>.</summary>
    RunResult Run(ComparisonRun run, string directory, TrainingProgress progress);

    /// <summary>A markdown paragraph: what was compared (data, budget, threads).</summary>
    string Describe(IReadOnlyList<RunResult> results);
}
