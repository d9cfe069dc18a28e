using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FashionVit.Model;

namespace FashionVit.Training;

/// <summary>
/// Everything that determines a pretrained checkpoint: the model shape, the source classes, the optimisation and the
/// seed. Two runs with equal configs share one cached checkpoint; any difference gives another <see cref="Hash"/>.
/// </summary>
/// <param name="Model">Model shape, head sized for the source classes.</param>
/// <param name="SourceClasses">Fashion-MNIST classes of the source task, in label order.</param>
/// <param name="Epochs">Epochs over the source training images (ignored when <paramref name="Steps"/> is positive).</param>
/// <param name="Steps">Optimizer steps; 0 means <paramref name="Epochs"/> epochs.</param>
/// <param name="LearningRate">AdamW learning rate (cosine decay to zero).</param>
/// <param name="Batch">Batch size.</param>
/// <param name="WeightDecay">AdamW weight decay.</param>
/// <param name="Seed">Seed of the initial weights and of the batch order.</param>
/// <param name="TrainLimit">At most this many source training images; 0 means all.</param>
public sealed record PretrainConfig(
    VitConfig Model,
    int[] SourceClasses,
    int Epochs,
    int Steps,
    double LearningRate,
    int Batch,
    double WeightDecay,
    int Seed,
    int TrainLimit)
{
    /// <summary>Bumped when the training procedure changes, so old checkpoints are not reused for new code.</summary>
    public const int FormatVersion = 1;

    private static readonly JsonSerializerOptions CanonicalJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>The config as canonical JSON (property order fixed by the record, invariant number format).</summary>
    public string ToCanonicalJson() => JsonSerializer.Serialize(new { format_version = FormatVersion, config = this }, CanonicalJson);

    /// <summary>The cache key: the first 16 hex digits of the SHA-256 of <see cref="ToCanonicalJson"/>.</summary>
    [JsonIgnore]
    public string Hash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToCanonicalJson())))[..16];

    /// <summary>Value equality including the class list (records compare arrays by reference).</summary>
    public bool Matches(PretrainConfig other) => ToCanonicalJson() == other.ToCanonicalJson();

    /// <summary>Optimizer steps of this pretraining for <paramref name="trainImages"/> images.</summary>
    public int TotalSteps(long trainImages) => Steps > 0 ? Steps : (int)(Epochs * ((trainImages + Batch - 1) / Batch));

    /// <summary>The source classes as a readable list.</summary>
    [JsonIgnore]
    public string ClassList => string.Join(",", SourceClasses.Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <inheritdoc />
    public override string ToString() =>
        $"ViT patch {Model.PatchSize}, dim {Model.Dim}, depth {Model.Depth}, heads {Model.Heads}, classes [{ClassList}], " +
        (Steps > 0 ? $"{Steps} steps" : $"{Epochs} epochs") + $", lr {LearningRate}, batch {Batch}, seed {Seed}" +
        (TrainLimit > 0 ? $", {TrainLimit} images" : "");

    /// <summary>Reads a config written by <see cref="ToCanonicalJson"/>; null when it is not one.</summary>
    public static PretrainConfig? FromCanonicalJson(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (!document.RootElement.TryGetProperty("format_version", out var version) || version.GetInt32() != FormatVersion) return null;
            return document.RootElement.GetProperty("config").Deserialize<PretrainConfig>(CanonicalJson);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
