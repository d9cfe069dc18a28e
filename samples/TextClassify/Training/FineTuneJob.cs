using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using OneLoRA;
using OneLoRA.Models;
using OneLoRA.Models.Bert;
using OneLoRA.Training;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Reporting;
using TextClassify.Cli;
using TextClassify.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace TextClassify.Training;

/// <summary>
/// The main job: build all-MiniLM-L6-v2 from its package, put a new head on it for the task's labels, attach the chosen
/// method to every encoder Linear (or none, for the head-only baseline), fine-tune with the shared loop
/// (<see cref="Trainer"/>), evaluate, save the adapters, merge, evaluate again, export the merged weights and write
/// <c>results.json</c>.
/// </summary>
public static class FineTuneJob
{
    /// <summary>Name of the adapter folder in a run directory.</summary>
    public const string AdapterFolder = "adapter";

    /// <summary>Name of the merged weights file in a run directory.</summary>
    public const string MergedWeightsFile = "model.safetensors";

    /// <summary>The label names, one per line in output order, written beside the adapters and the merged weights.</summary>
    public const string LabelsFile = "labels.txt";

    /// <summary>What the base model is, for results and adapter configs.</summary>
    public const string BaseModelName = "sentence-transformers/all-MiniLM-L6-v2";

    /// <summary>Sets threads and returns the device (the shared <see cref="Devices.Prepare"/>: a clear error for absent CUDA).</summary>
    /// <exception cref="OptionException">CUDA was asked for and is not available.</exception>
    public static Device Prepare(RunOptions options) => Devices.Prepare(options.Device, options.Threads);

    /// <summary>The task of these options; with <paramref name="modelLabels"/>, every example must carry one of them.</summary>
    public static TextTask LoadTask(RunOptions options, IReadOnlyList<string>? modelLabels = null) =>
        TextTask.Load(options.Data, options.WordNetPath, options.Labels, modelLabels);

    /// <summary>
    /// The packaged MiniLM with dropout off: the short fine-tuning budgets here gain nothing from it, and a run then
    /// draws nothing from TorchSharp's global generator (see <see cref="BuildModel"/>).
    /// </summary>
    public static MiniLMEncoder LoadEncoder() => MiniLMEncoder.FromPackage(dropout: 0);

    /// <summary>
    /// The fine-tuning model: the encoder, a new head for <paramref name="classes"/> labels (initialised from a generator
    /// seeded with <c>--seed</c>), the run's method attached to every encoder Linear, the head trained in full.
    /// </summary>
    public static (SentenceClassifier Model, PeftAttachment Attachment) BuildModel(MiniLMEncoder encoder, int classes, RunOptions options, Device device)
    {
        using var generator = new Generator((ulong)options.Seed, device: CPU);
        var model = new SentenceClassifier(encoder.Model, classes, generator);
        model.to(device);
        // LoRA's and DoRA's A and adapter dropout draw from TorchSharp's global generator (the library's choice, as PEFT's
        // nn.init); only those runs seed it, so 1LoRA and head-only runs (the tests') never touch global state.
        if (options.MethodName is "LoRA" or "DoRA" || options.Dropout > 0) manual_seed(options.Seed);
        var attachment = options.IsHeadOnly
            ? Peft.Attach(model, [], new HeadOnlyMethod())
            : options.AttentionOnly
                ? Peft.Attach(model, model.CollectTargetLayers("").Where(l => RunOptions.IsAttentionProjection(l.Path)).ToList(), PeftMethods.Create(options.ToPeftOptions()))
                : model.AttachAdapters(PeftMethods.Create(options.ToPeftOptions()));
        attachment.TrainFully("classifier", model.Classifier);
        return (model, attachment);
    }

    /// <summary>The loop's view of tokenized texts: logits of <paramref name="model"/> for a batch of example indices.</summary>
    public static IBatchSource Batches(SentenceClassifier model, TokenizedTexts data, Device device) =>
        new BatchSource(data.Labels, indices =>
        {
            var (ids, mask, types) = data.Batch(indices, device);
            return model.call(ids, mask, types);
        });

    /// <summary>Writes <see cref="LabelsFile"/> into <paramref name="directory"/>.</summary>
    public static void WriteLabels(string directory, IReadOnlyList<string> labels)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, LabelsFile);
        File.WriteAllLines(path + ".tmp", labels);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Reads <see cref="LabelsFile"/> from <paramref name="directory"/>.</summary>
    /// <exception cref="FileNotFoundException">There is none; the message says what writes it.</exception>
    /// <exception cref="InvalidDataException">It lists fewer than two labels, or one twice.</exception>
    public static IReadOnlyList<string> ReadLabels(string directory)
    {
        var path = Path.Combine(directory, LabelsFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{directory}' has no {LabelsFile} (the label names, one per line, which finetune writes beside the adapters and the merged weights).", path);
        var labels = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (labels.Count < 2) throw new InvalidDataException($"{path}: {labels.Count} label(s); a classifier has at least two.");
        var repeated = labels.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new InvalidDataException($"{path}: label '{repeated.Key}' is listed {repeated.Count()} times.");
        return labels;
    }

    /// <summary>Training steps over which the tensor memory is measured (<see cref="TrainingSettings.MemorySteps"/>).</summary>
    public const int TensorMemorySteps = 3;

    /// <summary>Runs the job and writes its outputs under <paramref name="outputDirectory"/>.</summary>
    /// <exception cref="OptionException">The output folder cannot be written, or the device is unavailable.</exception>
    public static TextClassifyResult Run(RunOptions options, string outputDirectory, TrainingProgress progress)
    {
        var wall = Stopwatch.StartNew();
        Locations.RequireWritableDirectory("--out", outputDirectory);
        var device = Prepare(options);
        var task = LoadTask(options);
        var train = DataSplit.Subset(task.Train, options.TrainLimit);
        var test = DataSplit.Subset(task.Test, options.TestLimit);
        progress.Info($"Data: {task.Source}: {task.All.Count} examples, {task.Labels.Count} labels; training on {train.Count} of {task.Train.Count}, " +
                      $"testing on {test.Count} of {task.Test.Count}" + (test.Count < task.Test.Count || train.Count < task.Train.Count ? " (hashed subsets)" : ""));

        var extraction = Stopwatch.StartNew();
        using var encoder = LoadEncoder();
        double extractionSeconds = extraction.Elapsed.TotalSeconds;
        progress.Info($"MiniLM from the package in {extractionSeconds:F1} s: {encoder.LoadReport}");
        using var trainData = new TokenizedTexts(encoder, train, task.LabelIndices(train), options.MaxLen);
        using var testData = new TokenizedTexts(encoder, test, task.LabelIndices(test), options.MaxLen);
        progress.Info($"Tokens per text: {trainData.MeanTokens:F1} on average; {trainData.AtLimit(options.MaxLen)} of {trainData.Count} training texts at --max-len {options.MaxLen}");

        var (model, attachment) = BuildModel(encoder, task.Labels.Count, options, device);
        using var _ = model;
        var parameters = attachment.Report();
        progress.Info(parameters.ToString());

        int steps = options.StepsFor(train.Count);
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
        // The new head trains in its own AdamW group at --head-lr; the method's parameters at --lr.
        var headHandles = model.Classifier.parameters().Select(p => p.Handle).ToHashSet();
        var trainable = attachment.TrainableParameters().ToList();
        var head = trainable.Where(p => headHandles.Contains(p.Handle)).ToList();
        var methodParameters = trainable.Where(p => !headHandles.Contains(p.Handle)).ToList();
        var training = Trainer.Train(model, methodParameters, [(head, options.HeadLearningRate)], Batches(model, trainData, device), settings, progress);

        var evaluation = Stopwatch.StartNew();
        using var unmerged = Trainer.Evaluate(model, Batches(model, testData, device), options.EvalBatch);
        double evaluationSeconds = evaluation.Elapsed.TotalSeconds;
        var adapterDirectory = Path.Combine(outputDirectory, AdapterFolder);
        model.SaveAdapters(adapterDirectory, baseModelNameOrPath: BaseModelName);
        WriteLabels(adapterDirectory, task.Labels);

        // The head-only baseline has no adapters to merge: its merged model is the trained model.
        if (attachment.Layers.Count > 0) attachment.Merge();
        using var merged = Trainer.Evaluate(model, Batches(model, testData, device), options.EvalBatch);
        var weightsPath = Path.Combine(outputDirectory, MergedWeightsFile);
        model.to(CPU);
        model.SaveWeights(weightsPath);
        WriteLabels(outputDirectory, task.Labels);

        var (changed, maxDifference) = Evaluation.Differences(unmerged, merged);
        var result = new TextClassifyResult
        {
            Method = options.MethodLabel,
            Accuracy = unmerged.Accuracy,
            MacroF1 = unmerged.MacroF1,
            MergedAccuracy = merged.Accuracy,
            ChangedPredictions = changed,
            MaxLogitDifference = maxDifference,
            Steps = steps,
            Batch = options.Batch,
            LearningRate = options.LearningRate,
            HeadLr = options.HeadLearningRate,
            FinalLoss = training.FinalLoss,
            TrainSeconds = training.Seconds,
            EvaluationSeconds = evaluationSeconds,
            TensorMemoryBytes = training.TensorMemoryBytes,
            Seed = options.Seed,
            WallSeconds = wall.Elapsed.TotalSeconds,
            ExamplesPerSecond = training.ExamplesPerSecond,
            ExtractionSeconds = extractionSeconds,
            PeakMemoryBytes = PeakMemory.Bytes(),
            CpuSeconds = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
            TrainableParameters = parameters.Trainable,
            TotalParameters = parameters.Total,
            AdaptedLayers = parameters.AdaptedLayers,
            AdapterDirectory = Path.GetFullPath(adapterDirectory),
            MergedWeights = Path.GetFullPath(weightsPath),
            BaseModel = BaseModelName,
            Data = Path.GetFullPath(task.Source),
            Labels = task.Labels,
            TrainExamples = train.Count,
            TestExamples = test.Count,
            MaxLen = options.MaxLen,
            Arguments = RunOptionSet.ToArguments(options with { Out = outputDirectory }),
        };
        result.Save(Path.Combine(outputDirectory, RunResult.FileName));
        return result;
    }
}
