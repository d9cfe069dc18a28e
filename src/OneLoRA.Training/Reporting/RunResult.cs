using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OneLoRA.Training.Reporting;

/// <summary>
/// What one fine-tuning run measured; written as <c>results.json</c> with snake_case names (<c>accuracy</c>,
/// <c>merged_accuracy</c>, <c>train_seconds</c>, …). A job derives a record to add its own fields
/// (e.g. the checkpoint it started from); <see cref="Save"/> writes them too.
/// </summary>
public record RunResult
{
    /// <summary>Method label with its combinations, e.g. <c>OneLoRA+norms</c>.</summary>
    public required string Method { get; init; }
    /// <summary>Accuracy on the test examples with the adapters unmerged.</summary>
    public required double Accuracy { get; init; }
    /// <summary>Macro-F1 on the test examples with the adapters unmerged (see <see cref="ClassificationMetrics.MacroF1"/>).</summary>
    public double MacroF1 { get; init; }
    /// <summary>Accuracy after merging the adapters into the weights.</summary>
    public required double MergedAccuracy { get; init; }
    /// <summary>Test examples whose predicted class changed with merging.</summary>
    public required long ChangedPredictions { get; init; }
    /// <summary>Largest absolute logit difference between merged and unmerged.</summary>
    public required double MaxLogitDifference { get; init; }
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
    /// <summary>Seconds of the evaluation of the unmerged model on the test examples (the paper's time is train + validation: <see cref="TrainSeconds"/> + this).</summary>
    public double EvaluationSeconds { get; init; }
    /// <summary>Peak tensor bytes of a training step beyond the model's weights (<see cref="TrainingSettings.MemorySteps"/>, <see cref="HeapMeter"/>); −1 when not measured.</summary>
    public long TensorMemoryBytes { get; init; } = -1;
    /// <summary>The fine-tuning seed.</summary>
    public int Seed { get; init; }
    /// <summary>Seconds of the whole command.</summary>
    public required double WallSeconds { get; init; }
    /// <summary>Peak resident memory of the process in bytes (VmHWM, see <see cref="PeakMemory"/>).</summary>
    public required long PeakMemoryBytes { get; init; }
    /// <summary>Trainable parameters (adapters, extras and head).</summary>
    public required long TrainableParameters { get; init; }
    /// <summary>All parameters of the model, adapters included.</summary>
    public required long TotalParameters { get; init; }
    /// <summary>Adapted Linear layers.</summary>
    public required int AdaptedLayers { get; init; }
    /// <summary>The adapter directory written (adapter_model.safetensors + adapter_config.json).</summary>
    public required string AdapterDirectory { get; init; }
    /// <summary>The merged weights file written.</summary>
    public required string MergedWeights { get; init; }
    /// <summary>The command-line arguments that reproduce the run.</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>File name of the results in a run directory.</summary>
    public const string FileName = "results.json";

    /// <summary>The JSON format of results files: snake_case names, indented, NaN and ∞ as strings.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes the result, with the fields of its runtime type, as JSON; atomically (a temporary file, then a rename).</summary>
    public void Save(string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, GetType(), JsonOptions) + "\n");
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a result written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a result; the message names it.</exception>
    public static T Load<T>(string path) where T : RunResult
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidDataException($"'{path}' holds null, expected a run result.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a {FileName} of this job: {e.Message}", e);
        }
    }

    /// <summary>Reads the common fields of any job's result.</summary>
    /// <exception cref="InvalidDataException">The file is not a result; the message names it.</exception>
    public static RunResult Load(string path) => Load<RunResult>(path);
}
