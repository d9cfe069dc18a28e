using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using FashionVit.Reporting;
using FashionVit.Training;
using OneLoRA;
using OneLoRA.Training.Cli;
using OneLoRA.Training.Comparison;
using OneLoRA.Training.Reporting;

namespace FashionVit.Cli;

/// <summary>
/// The command line: with no command, pretrain (first time) and fine-tune with 1LoRA on the default split;
/// <c>pretrain</c>, <c>finetune</c>, <c>evaluate</c> and <c>compare</c> do one part each.
/// </summary>
public static class FashionVitCli
{
    /// <summary>Builds the root command with its subcommands.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "FashionVit: pretrain a small ViT on some Fashion-MNIST classes, fine-tune it to others with 1LoRA or another PEFT method, " +
            "save the adapters, merge them and export the merged weights. Without a command: pretrain (cached) + fine-tune.");
        var rootOptions = new RunOptionSet();
        rootOptions.AddTo(root);
        root.SetAction(r => Guard(() => FineTune(rootOptions.Bind(r))));

        var finetune = new Command("finetune", "Pretrain if needed (cached), then fine-tune, evaluate, save adapters, merge, evaluate again, export merged weights.");
        var finetuneOptions = new RunOptionSet();
        finetuneOptions.AddTo(finetune);
        finetune.SetAction(r => Guard(() => FineTune(finetuneOptions.Bind(r))));
        root.Add(finetune);

        var pretrain = new Command("pretrain", "Pretrain the base model on the source classes, or report the cached checkpoint for these options.");
        var pretrainOptions = new RunOptionSet();
        pretrainOptions.AddTo(pretrain);
        pretrain.SetAction(r => Guard(() => Pretrain(pretrainOptions.Bind(r))));
        root.Add(pretrain);

        root.Add(EvaluateCommand());
        root.Add(CompareCommand());
        return root.UseClearNumberErrors();
    }

    /// <summary>Parses arguments stored by a run (<see cref="RunResult.Arguments"/>) back into options.</summary>
    /// <exception cref="InvalidDataException">The arguments do not parse; the message lists the errors.</exception>
    public static RunOptions ParseRunArguments(IReadOnlyList<string> arguments, string origin)
    {
        var command = new RootCommand();
        var set = new RunOptionSet();
        set.AddTo(command);
        var result = command.UseClearNumberErrors().Parse(arguments);
        if (result.Errors.Count > 0)
            throw new InvalidDataException($"The arguments stored in '{origin}' do not parse: {string.Join("; ", result.Errors.Select(e => e.Message))}");
        return set.Bind(result);
    }

    private static int FineTune(RunOptions options)
    {
        var output = options.OutputDirectory(DateTime.Now);
        var progress = TrainingProgress.Create(options.Plain, unit: "img");
        progress.Info($"FashionVit: {options.MethodLabel}, classes {RunOptions.FormatClasses(options.SourceClasses)} → {RunOptions.FormatClasses(options.TargetClasses)}" +
                      (options.Shift == DomainShift.None ? "" : $", {options.Shift.ToString().ToLowerInvariant()} shift") +
                      $", {options.Threads} thread(s) on {options.Device}; output {output}");
        var result = FineTuneJob.Run(options, output, progress);
        progress.Results([result]);
        progress.Info($"Accuracy {result.Accuracy:P2} with adapters, {result.MergedAccuracy:P2} merged" +
                      (result.ChangedPredictions == 0 ? " (identical predictions)" : $" ({result.ChangedPredictions} predictions changed; max logit difference {result.MaxLogitDifference:G3})"));
        progress.Info($"Wrote {Path.Combine(output, RunResult.FileName)}, adapters in {result.AdapterDirectory}, merged weights {result.MergedWeights}");
        return 0;
    }

    private static int Pretrain(RunOptions options)
    {
        Locations.RequireWritableDirectory(options.CacheOrigin, options.CacheDirectory);
        var progress = TrainingProgress.Create(options.Plain, unit: "img");
        var device = FineTuneJob.Prepare(options);
        var checkpoint = PretrainCache.Ensure(options.Pretrain, options.CacheDirectory, options.DataDirectory, device, progress, options.EvalBatch);
        progress.Info($"{(checkpoint.Reused ? "Cached" : "New")} checkpoint {checkpoint.WeightsPath} (source accuracy {checkpoint.SourceAccuracy:P2}; {checkpoint.Config})");
        return 0;
    }

    private static Command EvaluateCommand()
    {
        var command = new Command("evaluate",
            "Evaluate a fine-tuned model on the target test images: base checkpoint + adapter directory, or merged weights. " +
            "With --run DIR the run's results.json supplies every option and path.");
        var set = new RunOptionSet();
        set.AddTo(command);
        var run = new Option<string?>("--run") { Description = "A run directory (results.json, adapter/, model.safetensors) written by finetune", HelpName = "DIR" };
        var checkpoint = new Option<string?>("--base") { Description = "Base checkpoint .safetensors (default: the run's, or the cached one for these options)", HelpName = "FILE" };
        var adapter = new Option<string?>("--adapter") { Description = "Adapter directory (adapter_model.safetensors + adapter_config.json); the method and its options come from adapter_config.json", HelpName = "DIR" };
        var weights = new Option<string?>("--weights") { Description = "Merged weights file (model.safetensors) to evaluate without adapters", HelpName = "FILE" };
        var merged = new Option<bool>("--merged") { Description = "With --run: evaluate the run's merged weights instead of its adapters" };
        command.Add(run);
        command.Add(checkpoint);
        command.Add(adapter);
        command.Add(weights);
        command.Add(merged);
        command.SetAction(r => Guard(() =>
        {
            var options = set.Bind(r);
            string? runDirectory = r.GetValue(run), basePath = r.GetValue(checkpoint), adapterDirectory = r.GetValue(adapter), weightsPath = r.GetValue(weights);
            if (adapterDirectory is not null && weightsPath is not null)
                throw new OptionException("--adapter and --weights: give one (adapters on the base checkpoint, or merged weights alone).");
            if (runDirectory is not null)
            {
                var resultsPath = Path.Combine(runDirectory, RunResult.FileName);
                if (!File.Exists(resultsPath))
                    throw new FileNotFoundException($"--run {runDirectory}: no {RunResult.FileName} there; pass a directory written by finetune.", resultsPath);
                var stored = FashionVitResult.Load(resultsPath);
                // The run's own options, except where this command line names data, device, threads or evaluation sizes.
                var fromRun = ParseRunArguments(stored.Arguments, resultsPath);
                options = fromRun with
                {
                    DataDirectory = Given(r, set.Data) ? options.DataDirectory : fromRun.DataDirectory,
                    TestLimit = Given(r, set.TestLimit) ? options.TestLimit : fromRun.TestLimit,
                    Device = options.Device,
                    Threads = options.Threads,
                    EvalBatch = options.EvalBatch,
                };
                basePath ??= stored.Checkpoint;
                if (weightsPath is null && adapterDirectory is null)
                {
                    if (r.GetValue(merged)) weightsPath = Path.Combine(runDirectory, FineTuneJob.MergedWeightsFile);
                    else adapterDirectory = Path.Combine(runDirectory, FineTuneJob.AdapterFolder);
                }
            }
            else if (adapterDirectory is null && weightsPath is null)
            {
                throw new OptionException("evaluate needs --run DIR, or --adapter DIR or --weights FILE (with --base FILE or the options of the cached pretraining).");
            }

            if (adapterDirectory is not null) options = AdapterConfigOptions.Apply(options, adapterDirectory, set, o => Given(r, o));
            var baseCheckpoint = basePath is not null
                ? EvaluateJob.OpenCheckpoint(basePath)
                : PretrainCache.Find(options.Pretrain, options.CacheDirectory)
                  ?? throw new FileNotFoundException($"No cached checkpoint for {options.Pretrain} in {options.CacheDirectory}; pass --base FILE.");
            var outcome = weightsPath is not null
                ? EvaluateJob.WithMergedWeights(options, baseCheckpoint.Config.Model, weightsPath)
                : EvaluateJob.WithAdapters(options, baseCheckpoint, adapterDirectory!);
            var output = r.InvocationConfiguration.Output;
            output.WriteLine($"{outcome.Source}");
            output.WriteLine($"data {outcome.Data}");
            output.WriteLine($"accuracy {outcome.Accuracy.ToString("P2", CultureInfo.InvariantCulture)} ({outcome.Correct}/{outcome.Count}) on classes {RunOptions.FormatClasses(options.TargetClasses)}" +
                              (options.Shift == DomainShift.None ? "" : $", {options.Shift.ToString().ToLowerInvariant()} shift") +
                              $"; macro-F1 {outcome.MacroF1.ToString("P2", CultureInfo.InvariantCulture)}");
            return 0;
        }));
        return command;
    }

    private static Command CompareCommand()
    {
        var command = new Command("compare",
            "Fine-tune several methods from the same pretrained checkpoint with --seeds seeds each, every run in its own process, " +
            "interleaved (round robin over the methods within each seed), and write compare.md, compare.json, compare.png and " +
            "compare-memory.png into --out (default runs/<timestamp>-compare).");
        var set = new RunOptionSet();
        set.AddTo(command);
        var methods = new Option<string?>("--methods")
        {
            Description = "Comma-separated methods; add combinations with + (norms, biases, scale, random, qkv, type6), e.g. onelora,onelora+norms,none+norms,lora+qkv,full,head " +
                          $"(default: --preset main = {string.Join(",", CompareJob.DefaultMethods)})",
            HelpName = "LIST",
        };
        var preset = new Option<string?>("--preset")
        {
            Description = "A paper comparison: main (the default list), combos (Tables S11/S12), compression (Table S1: summation vs random), budget (LoRA on q,k,v vs 1LoRA everywhere)",
            HelpName = "NAME",
        };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per method: --seed, --seed+1, ... (the paper: 4)", DefaultValueFactory = _ => 4, HelpName = "N" };
        command.Add(methods);
        command.Add(preset);
        command.Add(seeds);
        command.SetAction(r => Guard(() =>
        {
            var options = set.Bind(r);
            var list = ComparisonPresets.Resolve(r.GetValue(methods), r.GetValue(preset), CompareJob.DefaultMethods);
            var seedList = ComparisonSchedule.Seeds(r.GetValue(seeds), options.Seed);
            var output = options.Out ?? Path.Combine("runs", $"{DateTime.Now:yyyyMMdd-HHmmss}-compare");
            var progress = TrainingProgress.Create(plain: true, unit: "img");
            var report = CompareJob.Run(options with { Out = null }, list, seedList, output, progress);
            progress.Info(MethodComparison.Markdown(report));
            progress.Info($"Wrote {Path.Combine(output, MethodComparison.MarkdownFile)}, {MethodComparison.JsonFile}, {MethodComparison.PlotFile} and {MethodComparison.MemoryPlotFile}");
            return 0;
        }));
        return command;
    }

    /// <summary>True when the option was written on the command line (not just its default).</summary>
    private static bool Given(ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>The jobs' error conventions: one line, exit code 2 for options, 1 for failures (<see cref="CommandLineRunner.Guard"/>).</summary>
    private static int Guard(Func<int> action) => CommandLineRunner.Guard(action);
}
