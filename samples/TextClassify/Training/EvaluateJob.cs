using System.IO;
using OneLoRA;
using OneLoRA.Models.Bert;
using OneLoRA.Training;
using TextClassify.Cli;
using TextClassify.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace TextClassify.Training;

/// <summary>
/// Evaluates a fine-tuned model on the test part of a data set: the packaged MiniLM plus an adapter directory
/// (adapters attached, unmerged), or a merged weights file alone. The labels come from the model (labels.txt beside its
/// files); an example whose label the model does not know is an error naming it.
/// </summary>
public static class EvaluateJob
{
    /// <summary>What was evaluated and how well.</summary>
    /// <param name="Source">"METHOD adapter DIR" or "merged weights FILE".</param>
    /// <param name="Accuracy">Accuracy on the test examples.</param>
    /// <param name="MacroF1">Macro-F1 on the test examples.</param>
    /// <param name="Correct">Correct predictions.</param>
    /// <param name="Count">Test examples.</param>
    /// <param name="Data">The data file.</param>
    public sealed record Outcome(string Source, double Accuracy, double MacroF1, long Correct, long Count, string Data);

    /// <summary>The packaged MiniLM with the run's method attached and the adapter directory's values (head included) loaded.</summary>
    public static Outcome WithAdapters(RunOptions options, string adapterDirectory)
    {
        var labels = FineTuneJob.ReadLabels(adapterDirectory);
        var device = FineTuneJob.Prepare(options);
        var task = FineTuneJob.LoadTask(options, labels);
        using var encoder = FineTuneJob.LoadEncoder();
        var (model, _) = FineTuneJob.BuildModel(encoder, labels.Count, options, device);
        using (model)
        {
            model.LoadAdapters(adapterDirectory);
            return Evaluate(model, encoder, task, options, device, $"{options.MethodLabel} adapter {adapterDirectory}");
        }
    }

    /// <summary>A plain classifier (no adapters) with the merged weights file's values.</summary>
    public static Outcome WithMergedWeights(RunOptions options, string weightsPath)
    {
        if (!File.Exists(weightsPath)) throw new FileNotFoundException($"--weights {weightsPath}: no such file (finetune writes {FineTuneJob.MergedWeightsFile} into its run directory).", weightsPath);
        var labels = FineTuneJob.ReadLabels(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!);
        var device = FineTuneJob.Prepare(options);
        var task = FineTuneJob.LoadTask(options, labels);
        using var encoder = FineTuneJob.LoadEncoder();
        using var generator = new Generator(0, device: CPU);
        using var model = new SentenceClassifier(encoder.Model, labels.Count, generator);
        model.LoadWeights(weightsPath);
        model.to(device);
        return Evaluate(model, encoder, task, options, device, $"merged weights {weightsPath}");
    }

    private static Outcome Evaluate(SentenceClassifier model, OneLoRA.Models.MiniLMEncoder encoder, TextTask task, RunOptions options, Device device, string source)
    {
        var test = DataSplit.Subset(task.Test, options.TestLimit);
        using var data = new TokenizedTexts(encoder, test, task.LabelIndices(test), options.MaxLen);
        using var evaluation = Trainer.Evaluate(model, FineTuneJob.Batches(model, data, device), options.EvalBatch);
        return new Outcome(source, evaluation.Accuracy, evaluation.MacroF1, evaluation.Correct, evaluation.Count, task.Source);
    }
}
