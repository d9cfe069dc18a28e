using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using OneLoRA;
using OneLoRA.Training.Cli;

namespace FashionVit.Cli;

/// <summary>
/// The command-line options of a pretrain + fine-tune run (one instance per command, since System.CommandLine
/// options belong to one command), their help texts, and the binding to <see cref="RunOptions"/>.
/// </summary>
public sealed class RunOptionSet
{
    private static readonly RunOptions Defaults = new();

    /// <summary>--data</summary>
    public Option<string?> Data { get; } = new("--data") { Description = "Fashion-MNIST directory (default: $FASHION_MNIST_DIR, then /usr/share/datasets/fashion-mnist)", HelpName = "DIR" };
    /// <summary>--source-classes</summary>
    public Option<string> SourceClasses { get; } = new("--source-classes") { Description = "Classes of the pretraining task, e.g. 0-4 or 0,2,4", DefaultValueFactory = _ => RunOptions.FormatClasses(Defaults.SourceClasses), HelpName = "LIST" };
    /// <summary>--target-classes</summary>
    public Option<string> TargetClasses { get; } = new("--target-classes") { Description = "Classes of the fine-tuning task (new head)", DefaultValueFactory = _ => RunOptions.FormatClasses(Defaults.TargetClasses), HelpName = "LIST" };
    /// <summary>--shift</summary>
    public Option<DomainShift> Shift { get; } = new("--shift") { Description = "Domain shift of the target images: none, invert (255-p) or rotate (90°)", DefaultValueFactory = _ => Defaults.Shift };
    /// <summary>--train-limit</summary>
    public Option<int> TrainLimit { get; } = new("--train-limit") { Description = "Use at most N training images per task (0 = all)", DefaultValueFactory = _ => Defaults.TrainLimit, HelpName = "N" };
    /// <summary>--test-limit</summary>
    public Option<int> TestLimit { get; } = new("--test-limit") { Description = "Evaluate on at most N test images (0 = all)", DefaultValueFactory = _ => Defaults.TestLimit, HelpName = "N" };

    /// <summary>--patch</summary>
    public Option<int> Patch { get; } = new("--patch") { Description = "ViT patch size in pixels (divides 28)", DefaultValueFactory = _ => Defaults.Patch, HelpName = "N" };
    /// <summary>--dim</summary>
    public Option<int> Dim { get; } = new("--dim") { Description = "ViT token width", DefaultValueFactory = _ => Defaults.Dim, HelpName = "N" };
    /// <summary>--depth</summary>
    public Option<int> Depth { get; } = new("--depth") { Description = "ViT blocks", DefaultValueFactory = _ => Defaults.Depth, HelpName = "N" };
    /// <summary>--heads</summary>
    public Option<int> Heads { get; } = new("--heads") { Description = "Attention heads (divide --dim)", DefaultValueFactory = _ => Defaults.Heads, HelpName = "N" };
    /// <summary>--mlp-ratio</summary>
    public Option<int> MlpRatio { get; } = new("--mlp-ratio") { Description = "MLP width as a multiple of --dim", DefaultValueFactory = _ => Defaults.MlpRatio, HelpName = "N" };
    /// <summary>--pretrain-epochs</summary>
    public Option<int> PretrainEpochs { get; } = new("--pretrain-epochs") { Description = "Pretraining epochs over the source task", DefaultValueFactory = _ => Defaults.PretrainEpochs, HelpName = "N" };
    /// <summary>--pretrain-steps</summary>
    public Option<int> PretrainSteps { get; } = new("--pretrain-steps") { Description = "Pretraining steps (overrides --pretrain-epochs when > 0)", DefaultValueFactory = _ => Defaults.PretrainSteps, HelpName = "N" };
    /// <summary>--pretrain-lr</summary>
    public Option<double> PretrainLr { get; } = new("--pretrain-lr") { Description = "Pretraining learning rate", DefaultValueFactory = _ => Defaults.PretrainLr, HelpName = "LR" };
    /// <summary>--pretrain-batch</summary>
    public Option<int> PretrainBatch { get; } = new("--pretrain-batch") { Description = "Pretraining batch size", DefaultValueFactory = _ => Defaults.PretrainBatch, HelpName = "N" };
    /// <summary>--pretrain-seed</summary>
    public Option<int> PretrainSeed { get; } = new("--pretrain-seed") { Description = "Pretraining seed (part of the checkpoint's cache key)", DefaultValueFactory = _ => Defaults.PretrainSeed, HelpName = "N" };

    /// <summary>--method</summary>
    public Option<string> Method { get; } = new("--method", "-m") { Description = $"Fine-tuning method: {RunOptions.HeadOnly} (head-only baseline) or a PEFT method ({string.Join(", ", PeftMethods.Names)}; aliases accepted)", DefaultValueFactory = _ => Defaults.Method, HelpName = "NAME" };
    /// <summary>--rank</summary>
    public Option<int> Rank { get; } = new("--rank", "-r") { Description = "Rank r for LoRA, DoRA, VeRA (and MoRA with --mora-rank-rule MoRA)", DefaultValueFactory = _ => Defaults.Rank, HelpName = "R" };
    /// <summary>--alpha</summary>
    public Option<double> Alpha { get; } = new("--alpha") { Description = "LoRA/DoRA alpha; scaling alpha/r (0 = alpha equals r)", DefaultValueFactory = _ => Defaults.Alpha, HelpName = "A" };
    /// <summary>--dropout</summary>
    public Option<double> Dropout { get; } = new("--dropout") { Description = "Adapter dropout (LoRA, DoRA, VeRA)", DefaultValueFactory = _ => Defaults.Dropout, HelpName = "P" };
    /// <summary>--lr</summary>
    public Option<double?> Lr { get; } = new("--lr") { Description = "Fine-tuning learning rate (default: 5e-3; LoRA/DoRA 2e-3; Full 5e-4; head 5e-2)", HelpName = "LR" };
    /// <summary>--weight-decay</summary>
    public Option<double> WeightDecay { get; } = new("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => Defaults.WeightDecay, HelpName = "WD" };
    /// <summary>--epochs</summary>
    public Option<int> Epochs { get; } = new("--epochs", "-e") { Description = "Fine-tuning epochs over the target task", DefaultValueFactory = _ => Defaults.Epochs, HelpName = "N" };
    /// <summary>--steps</summary>
    public Option<int> Steps { get; } = new("--steps", "-s") { Description = "Fine-tuning steps (overrides --epochs when > 0)", DefaultValueFactory = _ => Defaults.Steps, HelpName = "N" };
    /// <summary>--batch</summary>
    public Option<int> Batch { get; } = new("--batch", "-b") { Description = "Fine-tuning batch size", DefaultValueFactory = _ => Defaults.Batch, HelpName = "N" };
    /// <summary>--eval-batch</summary>
    public Option<int> EvalBatch { get; } = new("--eval-batch") { Description = "Evaluation batch size", DefaultValueFactory = _ => Defaults.EvalBatch, HelpName = "N" };
    /// <summary>--train-norms</summary>
    public Option<bool> TrainNorms { get; } = new("--train-norms") { Description = "Also train the LayerNorms (e.g. 1LoRA (norms))" };
    /// <summary>--train-biases</summary>
    public Option<bool> TrainBiases { get; } = new("--train-biases") { Description = "Also train the biases of the adapted layers" };
    /// <summary>--train-scale</summary>
    public Option<bool> TrainScale { get; } = new("--train-scale") { Description = "Also train a per-output scale γ on every adapted layer" };
    /// <summary>--attention-only</summary>
    public Option<bool> AttentionOnly { get; } = new("--attention-only") { Description = "Adapt only the attention's query, key and value Linears (the paper's LoRA (QKV)), not every Linear" };
    /// <summary>--random-compression</summary>
    public Option<bool> RandomCompression { get; } = new("--random-compression") { Description = "1LoRA ablation: compress with a fixed random vector instead of ones (paper Table S1)" };
    /// <summary>--compression-seed</summary>
    public Option<long> CompressionSeed { get; } = new("--compression-seed") { Description = "Seed of the random compression vector", DefaultValueFactory = _ => Defaults.CompressionSeed, HelpName = "N" };
    /// <summary>--mora-type</summary>
    public Option<int> MoRAType { get; } = new("--mora-type") { Description = "MoRA type: 1 (sharing) or 6 (RoPE)", DefaultValueFactory = _ => Defaults.MoRAType, HelpName = "1|6" };
    /// <summary>--mora-rank-rule</summary>
    public Option<MoRARankRule> MoRARankRule { get; } = new("--mora-rank-rule") { Description = "MoRA r̂: Paper (round(√d)), MoRA (from --rank) or Floor (⌊√d⌋)", DefaultValueFactory = _ => Defaults.MoRARankRule };
    /// <summary>--seed</summary>
    public Option<int> Seed { get; } = new("--seed") { Description = "Fine-tuning seed (new head, batch order, method randomness)", DefaultValueFactory = _ => Defaults.Seed, HelpName = "N" };

    /// <summary>--threads</summary>
    public Option<int> Threads { get; } = new("--threads", "-t") { Description = "TorchSharp intra-op threads (1 is fastest on a busy machine; see docs/main-job.md)", DefaultValueFactory = _ => Defaults.Threads, HelpName = "N" };
    /// <summary>--device</summary>
    public Option<string> Device { get; } = new("--device") { Description = "cpu or cuda[:N] (cuda needs a build with -p:TorchBackend=cuda and a GPU)", DefaultValueFactory = _ => Defaults.Device, HelpName = "DEVICE" };
    /// <summary>--out</summary>
    public Option<string?> Out { get; } = new("--out", "-o") { Description = "Output directory (default: runs/<timestamp>-<method>/)", HelpName = "DIR" };
    /// <summary>--cache</summary>
    public Option<string?> Cache { get; } = new("--cache") { Description = "Checkpoint cache directory (default: $ONELORA_CACHE, else ~/.cache/onelora)", HelpName = "DIR" };
    /// <summary>--plain</summary>
    public Option<bool> Plain { get; } = new("--plain") { Description = "Plain progress lines instead of a live bar (automatic when output is redirected or CI=true)" };

    /// <summary>Every option, in help order.</summary>
    public IReadOnlyList<Option> All =>
    [
        Method, Rank, Alpha, Dropout, Lr, WeightDecay, Epochs, Steps, Batch, EvalBatch, TrainNorms, TrainBiases, TrainScale,
        AttentionOnly, RandomCompression, CompressionSeed, MoRAType, MoRARankRule, Seed,
        Data, SourceClasses, TargetClasses, Shift, TrainLimit, TestLimit,
        Patch, Dim, Depth, Heads, MlpRatio, PretrainEpochs, PretrainSteps, PretrainLr, PretrainBatch, PretrainSeed,
        Threads, Device, Out, Cache, Plain,
    ];

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in All) command.Add(option);
    }

    /// <summary>The options of a parse, validated.</summary>
    /// <exception cref="OptionException">A value is invalid; the message names the option.</exception>
    public RunOptions Bind(ParseResult result) => new RunOptions
    {
        DataDirectory = result.GetValue(Data),
        SourceClasses = RunOptions.ParseClasses("--source-classes", result.GetValue(SourceClasses)!),
        TargetClasses = RunOptions.ParseClasses("--target-classes", result.GetValue(TargetClasses)!),
        Shift = result.GetValue(Shift),
        TrainLimit = result.GetValue(TrainLimit),
        TestLimit = result.GetValue(TestLimit),
        Patch = result.GetValue(Patch),
        Dim = result.GetValue(Dim),
        Depth = result.GetValue(Depth),
        Heads = result.GetValue(Heads),
        MlpRatio = result.GetValue(MlpRatio),
        PretrainEpochs = result.GetValue(PretrainEpochs),
        PretrainSteps = result.GetValue(PretrainSteps),
        PretrainLr = result.GetValue(PretrainLr),
        PretrainBatch = result.GetValue(PretrainBatch),
        PretrainSeed = result.GetValue(PretrainSeed),
        Method = result.GetValue(Method)!,
        Rank = result.GetValue(Rank),
        Alpha = result.GetValue(Alpha),
        Dropout = result.GetValue(Dropout),
        Lr = result.GetValue(Lr),
        WeightDecay = result.GetValue(WeightDecay),
        Epochs = result.GetValue(Epochs),
        Steps = result.GetValue(Steps),
        Batch = result.GetValue(Batch),
        EvalBatch = result.GetValue(EvalBatch),
        TrainNorms = result.GetValue(TrainNorms),
        TrainBiases = result.GetValue(TrainBiases),
        TrainScale = result.GetValue(TrainScale),
        RandomCompression = result.GetValue(RandomCompression),
        AttentionOnly = result.GetValue(AttentionOnly),
        CompressionSeed = result.GetValue(CompressionSeed),
        MoRAType = result.GetValue(MoRAType),
        MoRARankRule = result.GetValue(MoRARankRule),
        Seed = result.GetValue(Seed),
        Threads = result.GetValue(Threads),
        Device = result.GetValue(Device)!,
        Out = result.GetValue(Out),
        Cache = result.GetValue(Cache),
        Plain = result.GetValue(Plain),
    }.Validate();

    /// <summary>
    /// The arguments that reproduce <paramref name="o"/> (every option, so a later change of defaults does not change
    /// what a stored run means). <see cref="Bind"/> of these arguments gives back <paramref name="o"/>.
    /// </summary>
    public static List<string> ToArguments(RunOptions o)
    {
        static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        var args = new List<string>
        {
            "--method", o.Method, "--rank", I(o.Rank), "--alpha", N(o.Alpha), "--dropout", N(o.Dropout),
            "--weight-decay", N(o.WeightDecay), "--epochs", I(o.Epochs), "--steps", I(o.Steps), "--batch", I(o.Batch),
            "--eval-batch", I(o.EvalBatch), "--compression-seed", I(o.CompressionSeed), "--mora-type", I(o.MoRAType),
            "--mora-rank-rule", o.MoRARankRule.ToString(), "--seed", I(o.Seed),
            "--source-classes", RunOptions.FormatClasses(o.SourceClasses), "--target-classes", RunOptions.FormatClasses(o.TargetClasses),
            "--shift", o.Shift.ToString(), "--train-limit", I(o.TrainLimit), "--test-limit", I(o.TestLimit),
            "--patch", I(o.Patch), "--dim", I(o.Dim), "--depth", I(o.Depth), "--heads", I(o.Heads), "--mlp-ratio", I(o.MlpRatio),
            "--pretrain-epochs", I(o.PretrainEpochs), "--pretrain-steps", I(o.PretrainSteps), "--pretrain-lr", N(o.PretrainLr),
            "--pretrain-batch", I(o.PretrainBatch), "--pretrain-seed", I(o.PretrainSeed),
            "--threads", I(o.Threads), "--device", o.Device,
        };
        if (o.Lr is { } lr) args.AddRange(["--lr", N(lr)]);
        if (o.TrainNorms) args.Add("--train-norms");
        if (o.TrainBiases) args.Add("--train-biases");
        if (o.TrainScale) args.Add("--train-scale");
        if (o.RandomCompression) args.Add("--random-compression");
        if (o.AttentionOnly) args.Add("--attention-only");
        if (o.DataDirectory is { } data) args.AddRange(["--data", data]);
        if (o.Out is { } output) args.AddRange(["--out", output]);
        if (o.Cache is { } cache) args.AddRange(["--cache", cache]);
        if (o.Plain) args.Add("--plain");
        return args;
    }
}
