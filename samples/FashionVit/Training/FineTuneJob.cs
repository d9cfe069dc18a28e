using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using FashionVit.Cli;
using FashionVit.Model;
using FashionVit.Reporting;
using OneLoRA;
using OneLoRA.Datasets;
using OneLoRA.Training;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Reporting;
using TorchSharp;
using static TorchSharp.torch;

namespace FashionVit.Training;

/// <summary>
/// The main job: ensure the pretrained checkpoint, put a new head on it for the target classes, attach the chosen
/// method (or none, for the head-only baseline), fine-tune, evaluate, save the adapters, merge, evaluate again,
/// export the merged weights and write <c>results.json</c>.
/// </summary>
public static class FineTuneJob
{
    /// <summary>Name of the adapter folder in a run directory.</summary>
    public const string AdapterFolder = "adapter";

    /// <summary>Name of the merged weights file in a run directory.</summary>
    public const string MergedWeightsFile = "model.safetensors";

    /// <summary>Training steps over which the tensor memory is measured (<see cref="TrainingSettings.MemorySteps"/>).</summary>
    public const int TensorMemorySteps = 3;

    /// <summary>Sets threads and returns the device, failing clearly when CUDA is asked for but absent (<see cref="Devices.Prepare"/>).</summary>
    /// <exception cref="OptionException">CUDA was asked for and is not available.</exception>
    public static Device Prepare(RunOptions options) => Devices.Prepare(options.Device, options.Threads);

    /// <summary>Attaches the run's method to a model whose new head is in place, and trains that head in full.</summary>
    public static PeftAttachment Attach(VisionTransformer model, RunOptions options)
    {
        var attachment = options.IsHeadOnly
            ? Peft.Attach(model, [], new HeadOnlyMethod())
            : options.AttentionOnly
                ? Peft.Attach(model, model.CollectTargetLayers("").Where(l => RunOptions.IsAttentionProjection(l.Path)).ToList(), PeftMethods.Create(options.ToPeftOptions()))
                : model.AttachAdapters(PeftMethods.Create(options.ToPeftOptions()));
        attachment.TrainFully("head", model.Head);
        return attachment;
    }

    /// <summary>The fine-tuning model: the checkpoint's weights, a fresh head for the target classes (seeded), the method attached.</summary>
    public static (VisionTransformer Model, PeftAttachment Attachment) BuildModel(Checkpoint checkpoint, RunOptions options, Device device)
    {
        var model = PretrainCache.LoadModel(checkpoint);
        manual_seed(options.Seed);
        model.ReplaceHead(options.TargetClasses.Count);
        model.to(device);
        return (model, Attach(model, options));
    }

    /// <summary>
    /// Runs the job and writes its outputs under <paramref name="outputDirectory"/>. The output and cache folders are
    /// checked first (<see cref="Locations.RequireWritableDirectory"/>), so a bad path fails before any training.
    /// </summary>
    /// <exception cref="OptionException">The output or cache folder cannot be written, or the device is unavailable.</exception>
    public static FashionVitResult Run(RunOptions options, string outputDirectory, TrainingProgress progress)
    {
        var wall = Stopwatch.StartNew();
        Locations.RequireWritableDirectory("--out", outputDirectory);
        Locations.RequireWritableDirectory(options.CacheOrigin, options.CacheDirectory);
        var device = Prepare(options);
        var checkpoint = PretrainCache.Ensure(options.Pretrain, options.CacheDirectory, options.DataDirectory, device, progress, options.EvalBatch);
        double pretrainSeconds = checkpoint.Reused ? 0 : wall.Elapsed.TotalSeconds;
        if (checkpoint.Reused)
            progress.Info($"Pretrained checkpoint from the cache: {checkpoint.WeightsPath} (source accuracy {checkpoint.SourceAccuracy:P2})");

        using var train = TaskData.Load(FashionMnistSplit.Train, options.DataDirectory, options.TargetClasses, options.Shift, options.TrainLimit);
        using var test = TaskData.Load(FashionMnistSplit.Test, options.DataDirectory, options.TargetClasses, options.Shift, options.TestLimit);
        progress.Info($"Data: {train.Origin}");
        var (model, attachment) = BuildModel(checkpoint, options, device);
        using var _ = model;
        var parameters = attachment.Report();
        progress.Info(parameters.ToString());

        int steps = options.Steps > 0 ? options.Steps : (int)(options.Epochs * Math.Max(1, train.Count / options.Batch));
        var settings = new TrainingSettings
        {
            Steps = steps,
            Batch = options.Batch,
            LearningRate = options.LearningRate,
            WeightDecay = options.WeightDecay,
            Seed = options.Seed,
            Phase = $"fine-tune {options.MethodLabel}",
            MemorySteps = TensorMemorySteps,
        };
        var training = Trainer.Train(model, attachment.TrainableParameters(), train.Batches(model, device), settings, progress);

        var evaluation = Stopwatch.StartNew();
        using var unmerged = Trainer.Evaluate(model, test.Batches(model, device), options.EvalBatch);
        double evaluationSeconds = evaluation.Elapsed.TotalSeconds;
        Directory.CreateDirectory(outputDirectory);
        var adapterDirectory = Path.Combine(outputDirectory, AdapterFolder);
        model.SaveAdapters(adapterDirectory, baseModelNameOrPath: checkpoint.WeightsPath);

        // The head-only baseline has no adapters to merge: its merged model is the trained model.
        if (attachment.Layers.Count > 0) attachment.Merge();
        using var merged = Trainer.Evaluate(model, test.Batches(model, device), options.EvalBatch);
        var weightsPath = Path.Combine(outputDirectory, MergedWeightsFile);
        model.to(CPU);
        model.SaveWeights(weightsPath);

        var (changed, maxDifference) = Evaluation.Differences(unmerged, merged);
        var result = new FashionVitResult
        {
            Method = options.MethodLabel,
            Accuracy = unmerged.Accuracy,
            MacroF1 = unmerged.MacroF1,
            MergedAccuracy = merged.Accuracy,
            ChangedPredictions = changed,
            MaxLogitDifference = maxDifference,
            SourceAccuracy = checkpoint.SourceAccuracy,
            TestImages = test.Count,
            Steps = steps,
            Batch = options.Batch,
            LearningRate = options.LearningRate,
            FinalLoss = training.FinalLoss,
            TrainSeconds = training.Seconds,
            EvaluationSeconds = evaluationSeconds,
            TensorMemoryBytes = training.TensorMemoryBytes,
            Seed = options.Seed,
            WallSeconds = wall.Elapsed.TotalSeconds,
            PretrainSeconds = pretrainSeconds,
            ImagesPerSecond = training.ExamplesPerSecond,
            PeakMemoryBytes = PeakMemory.Bytes(),
            TrainableParameters = parameters.Trainable,
            TotalParameters = parameters.Total,
            AdaptedLayers = parameters.AdaptedLayers,
            Checkpoint = Path.GetFullPath(checkpoint.WeightsPath),
            AdapterDirectory = Path.GetFullPath(adapterDirectory),
            MergedWeights = Path.GetFullPath(weightsPath),
            DataDirectory = Path.GetFullPath(train.Directory),
            Arguments = RunOptionSet.ToArguments(options with { Out = outputDirectory }),
        };
        result.Save(Path.Combine(outputDirectory, RunResult.FileName));
        return result;
    }
}
