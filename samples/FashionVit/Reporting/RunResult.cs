using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FashionVit.Reporting;

/// <summary>What one fine-tuning run measured; written as <c>results.json</c>.</summary>
public sealed record RunResult
{
    /// <summary>Method label with its combinations, e.g. <c>OneLoRA+norms</c>.</summary>
    public required string Method { get; init; }
    /// <summary>Accuracy on the target test images with the adapters unmerged.</summary>
    public required double Accuracy { get; init; }
    /// <summary>Accuracy after merging the adapters into the weights.</summary>
    public required double MergedAccuracy { get; init; }
    /// <summary>Test images whose predicted class changed with merging.</summary>
    public required long ChangedPredictions { get; init; }
    /// <summary>Largest absolute logit difference between merged and unmerged.</summary>
    public required double MaxLogitDifference { get; init; }
    /// <summary>Accuracy of the pretrained model on its own source task.</summary>
    public required double SourceAccuracy { get; init; }
    /// <summary>Test images evaluated.</summary>
    public required long TestImages { get; init; }
    /// <summary>Fine-tuning steps.</summary>
    public required int Steps { get; init; }
    /// <summary>Batch size.</summary>
    public required int Batch { get; init; }
    /// <summary>Learning rate used.</summary>
    public required double LearningRate { get; init; }
    /// <summary>Mean training loss over the last 50 steps.</summary>
    public required double FinalLoss { get; init; }
    /// <summary>Seconds spent in the fine-tuning steps.</summary>
    public required double TrainSeconds { get; init; }
    /// <summary>Seconds of the whole command (pretraining excluded when the checkpoint was cached).</summary>
    public required double WallSeconds { get; init; }
    /// <summary>Seconds spent pretraining in this process (0 when the checkpoint came from the cache).</summary>
    public required double PretrainSeconds { get; init; }
    /// <summary>Training throughput.</summary>
    public required double ImagesPerSecond { get; init; }
    /// <summary>Peak resident memory of the process in bytes (VmHWM).</summary>
    public required long PeakMemoryBytes { get; init; }
    /// <summary>Trainable parameters (adapters, extras and head).</summary>
    public required long TrainableParameters { get; init; }
    /// <summary>All parameters of the model, adapters included.</summary>
    public required long TotalParameters { get; init; }
    /// <summary>Adapted Linear layers.</summary>
    public required int AdaptedLayers { get; init; }
    /// <summary>The base checkpoint fine-tuned from.</summary>
    public required string Checkpoint { get; init; }
    /// <summary>The adapter directory written (adapter_model.safetensors + adapter_config.json).</summary>
    public required string AdapterDirectory { get; init; }
    /// <summary>The merged weights file written.</summary>
    public required string MergedWeights { get; init; }
    /// <summary>The command-line arguments that reproduce the run.</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>File name of the results in a run directory.</summary>
    public const string FileName = "results.json";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes the result as JSON.</summary>
    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>Reads a result written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a result; the message names it.</exception>
    public static RunResult Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunResult>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"'{path}' holds null, expected a run result.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a FashionVit results.json: {e.Message}", e);
        }
    }
}
