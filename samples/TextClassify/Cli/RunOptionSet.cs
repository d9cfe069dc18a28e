using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using OneLoRA;
using OneLoRA.Training.Cli;

namespace TextClassify.Cli;

/// <summary>
/// The command-line options of a fine-tuning run (one instance per command, since System.CommandLine options belong to
/// one command), their help texts, and the binding to <see cref="RunOptions"/>. Names follow FashionVit's.
/// </summary>
public sealed class RunOptionSet
{
    private static readonly RunOptions Defaults = new();

    /// <summary>--data</summary>
    public Option<string?> Data { get; } = new("--data") { Description = "A TSV file of text<TAB>label lines, any labels (default: WordNet noun supersenses)", HelpName = "FILE.tsv" };
    /// <summary>--wordnet</summary>
    public Option<string?> WordNet { get; } = new("--wordnet") { Description = "WordNet's data.noun (default: $WNSEARCHDIR/data.noun, else /usr/share/wordnet/data.noun from wordnet-base)", HelpName = "FILE" };
    /// <summary>--labels</summary>
    public Option<string?> Labels { get; } = new("--labels") { Description = "Keep only these labels, comma-separated (e.g. noun.animal,noun.plant,noun.food)", HelpName = "LIST" };
    /// <summary>--train-limit</summary>
    public Option<int> TrainLimit { get; } = new("--train-limit") { Description = "Train on at most N examples of the training part, a hashed subset (0 = all)", DefaultValueFactory = _ => Defaults.TrainLimit, HelpName = "N" };
    /// <summary>--test-limit</summary>
    public Option<int> TestLimit { get; } = new("--test-limit") { Description = "Evaluate on at most N examples of the test part, a hashed subset (0 = all)", DefaultValueFactory = _ => Defaults.TestLimit, HelpName = "N" };
    /// <summary>--max-len</summary>
    public Option<int> MaxLen { get; } = new("--max-len") { Description = "Tokens per text including [CLS] and [SEP]; longer texts are cut", DefaultValueFactory = _ => Defaults.MaxLen, HelpName = "N" };

    /// <summary>--method</summary>
    public Option<string> Method { get; } = new("--method", "-m") { Description = $"Fine-tuning method: {RunOptions.HeadOnly} (frozen encoder, new head) or a PEFT method on every encoder Linear ({string.Join(", ", PeftMethods.Names)}; aliases accepted)", DefaultValueFactory = _ => Defaults.Method, HelpName = "NAME" };
    /// <summary>--rank</summary>
    public Option<int> Rank { get; } = new("--rank", "-r") { Description = "Rank r for LoRA, DoRA, VeRA (and MoRA with --mora-rank-rule MoRA)", DefaultValueFactory = _ => Defaults.Rank, HelpName = "R" };
    /// <summary>--alpha</summary>
    public Option<double> Alpha { get; } = new("--alpha") { Description = "LoRA/DoRA alpha; scaling alpha/r (0 = alpha equals r)", DefaultValueFactory = _ => Defaults.Alpha, HelpName = "A" };
    /// <summary>--dropout</summary>
    public Option<double> Dropout { get; } = new("--dropout") { Description = "Adapter dropout (LoRA, DoRA, VeRA)", DefaultValueFactory = _ => Defaults.Dropout, HelpName = "P" };
    /// <summary>--lr</summary>
    public Option<double?> Lr { get; } = new("--lr") { Description = "Learning rate of the method's parameters (adapters, norms, ...; default: 1e-3; Full 1e-4)", HelpName = "LR" };
    /// <summary>--head-lr</summary>
    public Option<double?> HeadLr { get; } = new("--head-lr") { Description = "Learning rate of the new head, and of the head method (default: 1e-2; for --method head, --lr when given)", HelpName = "LR" };
    /// <summary>--weight-decay</summary>
    public Option<double> WeightDecay { get; } = new("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => Defaults.WeightDecay, HelpName = "WD" };
    /// <summary>--epochs</summary>
    public Option<int> Epochs { get; } = new("--epochs", "-e") { Description = "Epochs over the training part (used when --steps is 0)", DefaultValueFactory = _ => Defaults.Epochs, HelpName = "N" };
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
    public Option<int> Threads { get; } = new("--threads", "-t") { Description = "TorchSharp intra-op threads (1 is fastest on a busy machine; 2 on a quiet two-core one)", DefaultValueFactory = _ => Defaults.Threads, HelpName = "N" };
    /// <summary>--device</summary>
    public Option<string> Device { get; } = new("--device") { Description = "cpu or cuda[:N] (cuda needs a build with -p:TorchBackend=cuda and a GPU)", DefaultValueFactory = _ => Defaults.Device, HelpName = "DEVICE" };
    /// <summary>--out</summary>
    public Option<string?> Out { get; } = new("--out", "-o") { Description = "Output directory (default: runs/<timestamp>-<method>/)", HelpName = "DIR" };
    /// <summary>--plain</summary>
    public Option<bool> Plain { get; } = new("--plain") { Description = "Plain progress lines instead of a live bar (automatic when output is redirected or CI=true)" };

    /// <summary>Every option, in help order.</summary>
    public IReadOnlyList<Option> All =>
    [
        Method, Rank, Alpha, Dropout, Lr, HeadLr, WeightDecay, Epochs, Steps, Batch, EvalBatch, TrainNorms, TrainBiases, TrainScale,
        AttentionOnly, RandomCompression, CompressionSeed, MoRAType, MoRARankRule, Seed,
        Data, WordNet, Labels, TrainLimit, TestLimit, MaxLen,
        Threads, Device, Out, Plain,
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
        Data = result.GetValue(Data),
        WordNet = result.GetValue(WordNet),
        Labels = RunOptions.ParseLabels(result.GetValue(Labels)),
        TrainLimit = result.GetValue(TrainLimit),
        TestLimit = result.GetValue(TestLimit),
        MaxLen = result.GetValue(MaxLen),
        Method = result.GetValue(Method)!,
        Rank = result.GetValue(Rank),
        Alpha = result.GetValue(Alpha),
        Dropout = result.GetValue(Dropout),
        Lr = result.GetValue(Lr),
        HeadLr = result.GetValue(HeadLr),
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
            "--train-limit", I(o.TrainLimit), "--test-limit", I(o.TestLimit), "--max-len", I(o.MaxLen),
            "--threads", I(o.Threads), "--device", o.Device,
        };
        if (o.Lr is { } lr) args.AddRange(["--lr", N(lr)]);
        if (o.HeadLr is { } headLr) args.AddRange(["--head-lr", N(headLr)]);
        if (o.TrainNorms) args.Add("--train-norms");
        if (o.TrainBiases) args.Add("--train-biases");
        if (o.TrainScale) args.Add("--train-scale");
        if (o.RandomCompression) args.Add("--random-compression");
        if (o.AttentionOnly) args.Add("--attention-only");
        if (o.Data is { } data) args.AddRange(["--data", data]);
        if (o.WordNet is { } wordnet) args.AddRange(["--wordnet", wordnet]);
        if (o.Labels.Count > 0) args.AddRange(["--labels", string.Join(",", o.Labels)]);
        if (o.Out is { } output) args.AddRange(["--out", output]);
        if (o.Plain) args.Add("--plain");
        return args;
    }
}
