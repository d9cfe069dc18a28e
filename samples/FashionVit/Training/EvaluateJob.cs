using System;
using System.IO;
using System.Text.Json.Nodes;
using FashionVit.Cli;
using FashionVit.Model;
using OneLoRA;
using OneLoRA.Datasets;
using OneLoRA.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FashionVit.Training;

/// <summary>
/// Evaluates a deployed model on the target task's test images: the base checkpoint plus an adapter directory
/// (adapters attached, unmerged), or a merged weights file alone (no adapters needed).
/// </summary>
public static class EvaluateJob
{
    /// <summary>What was evaluated and how well.</summary>
    /// <param name="Source">"adapter DIR on CHECKPOINT" or "merged weights FILE".</param>
    /// <param name="Accuracy">Accuracy on the test images.</param>
    /// <param name="Correct">Correct predictions.</param>
    /// <param name="Count">Test images.</param>
    /// <param name="MacroF1">Macro-F1 on the test images.</param>
    /// <param name="Data">The data folder and where it came from.</param>
    public sealed record Outcome(string Source, double Accuracy, long Correct, long Count, double MacroF1, string Data);

    /// <summary>
    /// Reads the checkpoint written by pretraining: the weights and the JSON beside them (<c>fashionvit-&lt;hash&gt;.json</c>),
    /// which gives the model shape and source classes.
    /// </summary>
    /// <exception cref="FileNotFoundException">The weights or the JSON beside them are missing.</exception>
    /// <exception cref="InvalidDataException">The JSON is not a pretraining record.</exception>
    public static Checkpoint OpenCheckpoint(string weightsPath)
    {
        if (!File.Exists(weightsPath))
            throw new FileNotFoundException($"Base checkpoint '{weightsPath}' does not exist; pass the .safetensors file that pretraining wrote (see the cache directory).", weightsPath);
        var infoPath = Path.ChangeExtension(weightsPath, ".json");
        if (!File.Exists(infoPath))
            throw new FileNotFoundException($"Base checkpoint '{weightsPath}' has no '{Path.GetFileName(infoPath)}' beside it; pretraining writes it with the model shape and classes.", infoPath);
        var json = JsonNode.Parse(File.ReadAllText(infoPath)) as JsonObject;
        var config = PretrainConfig.FromCanonicalJson(json?["pretrain"]?.ToJsonString() ?? "")
            ?? throw new InvalidDataException($"'{infoPath}' is not a FashionVit pretraining record (no 'pretrain' config of format {PretrainConfig.FormatVersion}).");
        return new Checkpoint(weightsPath, infoPath, config, json?["source_accuracy"]?.GetValue<double>() ?? double.NaN, Reused: true);
    }

    /// <summary>Base checkpoint + adapters: builds the target model, attaches the run's method, loads the adapter files, evaluates.</summary>
    public static Outcome WithAdapters(RunOptions options, Checkpoint checkpoint, string adapterDirectory)
    {
        var device = FineTuneJob.Prepare(options);
        using var test = LoadTest(options);
        var (model, _) = FineTuneJob.BuildModel(checkpoint, options, device);
        using (model)
        {
            model.LoadAdapters(adapterDirectory);
            using var evaluation = Trainer.Evaluate(model, test.Batches(model, device), options.EvalBatch);
            return new Outcome($"{options.MethodLabel} adapter {adapterDirectory} on {checkpoint.WeightsPath}", evaluation.Accuracy, evaluation.Correct, evaluation.Count, evaluation.MacroF1, test.Origin);
        }
    }

    /// <summary>Merged weights alone: a plain model of the checkpoint's shape with a head for the target classes.</summary>
    public static Outcome WithMergedWeights(RunOptions options, VitConfig sourceModel, string weightsPath)
    {
        var device = FineTuneJob.Prepare(options);
        using var test = LoadTest(options);
        using var model = new VisionTransformer(sourceModel with { Classes = options.TargetClasses.Count });
        model.LoadWeights(weightsPath);
        model.to(device);
        using var evaluation = Trainer.Evaluate(model, test.Batches(model, device), options.EvalBatch);
        return new Outcome($"merged weights {weightsPath}", evaluation.Accuracy, evaluation.Correct, evaluation.Count, evaluation.MacroF1, test.Origin);
    }

    private static TaskData LoadTest(RunOptions options) =>
        TaskData.Load(FashionMnistSplit.Test, options.DataDirectory, options.TargetClasses, options.Shift, options.TestLimit);
}
