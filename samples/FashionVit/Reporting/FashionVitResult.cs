using OneLoRA.Training.Reporting;

namespace FashionVit.Reporting;

/// <summary>A FashionVit run's <c>results.json</c>: the common fields and what belongs to this job (the pretrained checkpoint, images).</summary>
public sealed record FashionVitResult : RunResult
{
    /// <summary>Accuracy of the pretrained model on its own source task.</summary>
    public required double SourceAccuracy { get; init; }
    /// <summary>Test images evaluated.</summary>
    public required long TestImages { get; init; }
    /// <summary>Seconds spent pretraining in this process (0 when the checkpoint came from the cache).</summary>
    public required double PretrainSeconds { get; init; }
    /// <summary>Training throughput.</summary>
    public required double ImagesPerSecond { get; init; }
    /// <summary>The base checkpoint fine-tuned from.</summary>
    public required string Checkpoint { get; init; }
    /// <summary>The Fashion-MNIST folder the images were read from.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Reads a FashionVit result written by <see cref="RunResult.Save"/>.</summary>
    /// <exception cref="System.IO.InvalidDataException">The file is not a FashionVit result; the message names it.</exception>
    public static new FashionVitResult Load(string path) => Load<FashionVitResult>(path);
}
