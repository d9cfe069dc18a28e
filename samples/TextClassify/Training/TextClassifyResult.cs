using System.Collections.Generic;
using OneLoRA.Training.Reporting;

namespace TextClassify.Training;

/// <summary>A run's <c>results.json</c>: the fields every job writes (<see cref="RunResult"/>) and this job's own.</summary>
public sealed record TextClassifyResult : RunResult
{
    /// <summary>The data file read (WordNet's data.noun or the TSV file).</summary>
    public required string Data { get; init; }
    /// <summary>The label names, in model-output order.</summary>
    public required IReadOnlyList<string> Labels { get; init; }
    /// <summary>Training examples available (after --labels and --train-limit).</summary>
    public required long TrainExamples { get; init; }
    /// <summary>Test examples evaluated (after --test-limit).</summary>
    public required long TestExamples { get; init; }
    /// <summary>Token limit per text.</summary>
    public required int MaxLen { get; init; }
    /// <summary>Training throughput.</summary>
    public required double ExamplesPerSecond { get; init; }
    /// <summary>Seconds to build the pretrained encoder from the package (resources, ONNX parse, strict load).</summary>
    public required double ExtractionSeconds { get; init; }
    /// <summary>
    /// CPU seconds the process used (user + system, all threads): on a shared machine this, not the wall time, says what the
    /// run costs; on a quiet machine the wall time is about this divided by the threads that were busy.
    /// </summary>
    public required double CpuSeconds { get; init; }
    /// <summary>Learning rate of the new head (<c>--head-lr</c>); <see cref="RunResult.LearningRate"/> is the method's.</summary>
    public required double HeadLr { get; init; }
    /// <summary>The pretrained model fine-tuned from.</summary>
    public required string BaseModel { get; init; }
}
