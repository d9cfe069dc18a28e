using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using FashionVit.Cli;
using FashionVit.Model;
using OneLoRA;
using OneLoRA.Datasets;
using OneLoRA.Training;
using OneLoRA.Training.Reporting;
using TorchSharp;
using static TorchSharp.torch;

namespace FashionVit.Training;

/// <summary>A pretrained base checkpoint on disk and what is known about it.</summary>
/// <param name="WeightsPath">The safetensors file (the model's state dict, source head included).</param>
/// <param name="InfoPath">The JSON next to it: config, source accuracy, training time.</param>
/// <param name="Config">The config it was trained with.</param>
/// <param name="SourceAccuracy">Accuracy on the source task's test images.</param>
/// <param name="Reused">True when it came from the cache, false when this call trained it.</param>
public sealed record Checkpoint(string WeightsPath, string InfoPath, PretrainConfig Config, double SourceAccuracy, bool Reused);

/// <summary>
/// Pretrained checkpoints cached by config: <c>&lt;cache&gt;/fashionvit-&lt;hash&gt;.safetensors</c> plus
/// <c>fashionvit-&lt;hash&gt;.json</c>, where the hash is <see cref="PretrainConfig.Hash"/>. A later run with the same
/// config and seed reuses the file instead of training again.
/// </summary>
public static class PretrainCache
{
    /// <summary>The two file paths for a config in a cache directory.</summary>
    public static (string Weights, string Info) PathsFor(PretrainConfig config, string cacheDirectory)
    {
        var stem = Path.Combine(cacheDirectory, $"fashionvit-{config.Hash}");
        return (stem + ".safetensors", stem + ".json");
    }

    /// <summary>The cached checkpoint for <paramref name="config"/>, or null when there is none.</summary>
    /// <exception cref="InvalidDataException">The JSON beside the weights describes another config (a damaged cache); the message names the file.</exception>
    public static Checkpoint? Find(PretrainConfig config, string cacheDirectory)
    {
        var (weights, info) = PathsFor(config, cacheDirectory);
        if (!File.Exists(weights) || !File.Exists(info)) return null;
        var json = JsonNode.Parse(File.ReadAllText(info)) as JsonObject
            ?? throw new InvalidDataException($"Checkpoint info '{info}' is not a JSON object; delete it and its .safetensors to pretrain again.");
        var stored = PretrainConfig.FromCanonicalJson(json["pretrain"]?.ToJsonString() ?? "");
        if (stored is null || !stored.Matches(config))
            throw new InvalidDataException($"Checkpoint info '{info}' describes another pretraining than {config}; delete it and its .safetensors to pretrain again.");
        return new Checkpoint(weights, info, config, json["source_accuracy"]?.GetValue<double>() ?? double.NaN, Reused: true);
    }

    /// <summary>
    /// Returns the cached checkpoint for <paramref name="config"/>, pretraining and caching it first when missing:
    /// the whole model trains on the source classes' training images; accuracy is measured on their test images.
    /// </summary>
    public static Checkpoint Ensure(PretrainConfig config, string cacheDirectory, string? dataDirectory, Device device, TrainingProgress progress, int evalBatch = 100)
    {
        if (Find(config, cacheDirectory) is { } cached) return cached;

        var watch = Stopwatch.StartNew();
        using var train = TaskData.Load(FashionMnistSplit.Train, dataDirectory, config.SourceClasses, DomainShift.None, config.TrainLimit);
        using var test = TaskData.Load(FashionMnistSplit.Test, dataDirectory, config.SourceClasses, DomainShift.None, 0);
        manual_seed(config.Seed);
        using var model = new VisionTransformer(config.Model);
        model.to(device);
        int steps = config.TotalSteps(train.Count);
        progress.Info($"Pretraining {config} on {train.Count} images ({steps} steps) from {train.Origin}; cached as {PathsFor(config, cacheDirectory).Weights}");
        var settings = new TrainingSettings
        {
            Steps = steps,
            Batch = config.Batch,
            LearningRate = config.LearningRate,
            WeightDecay = config.WeightDecay,
            Seed = config.Seed,
            Phase = "pretrain",
            LearningRateOption = "--pretrain-lr",
        };
        Trainer.Train(model, model.parameters(), train.Batches(model, device), settings, progress);
        using var evaluation = Trainer.Evaluate(model, test.Batches(model, device), evalBatch);

        Directory.CreateDirectory(cacheDirectory);
        var (weightsPath, infoPath) = PathsFor(config, cacheDirectory);
        model.to(CPU);
        model.SaveWeights(weightsPath);
        var info = new JsonObject
        {
            ["pretrain"] = JsonNode.Parse(config.ToCanonicalJson()),
            ["source_accuracy"] = evaluation.Accuracy,
            ["train_seconds"] = watch.Elapsed.TotalSeconds,
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
        };
        var temporary = infoPath + ".tmp";
        File.WriteAllText(temporary, info.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(temporary, infoPath, overwrite: true);
        progress.Info($"Pretrained: source accuracy {evaluation.Accuracy:P2} in {watch.Elapsed.TotalSeconds:F0} s");
        return new Checkpoint(weightsPath, infoPath, config, evaluation.Accuracy, Reused: false);
    }

    /// <summary>A source-shaped model with the checkpoint's weights (head for the source classes).</summary>
    public static VisionTransformer LoadModel(Checkpoint checkpoint)
    {
        var model = new VisionTransformer(checkpoint.Config.Model);
        model.LoadWeights(checkpoint.WeightsPath);
        return model;
    }
}
