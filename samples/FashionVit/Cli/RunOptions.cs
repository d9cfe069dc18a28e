using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using FashionVit.Model;
using FashionVit.Training;
using OneLoRA;
using OneLoRA.Training.Cli;

namespace FashionVit.Cli;

/// <summary>How the target task's images differ from the source task's.</summary>
public enum DomainShift
{
    /// <summary>Same images.</summary>
    None,
    /// <summary>Inverted grey levels: p → 255 − p.</summary>
    Invert,
    /// <summary>Images rotated by 90° counter-clockwise.</summary>
    Rotate,
}

/// <summary>
/// Every option of a pretrain + fine-tune run, as the command line gives them. Defaults are the README's main
/// command: pretrain on classes 0–4, fine-tune the 1LoRA adapters and a new head on classes 5–9.
/// </summary>
public sealed record RunOptions
{
    /// <summary>The method name meaning "train only a new head, no adapters" (the baseline).</summary>
    public const string HeadOnly = OneLoRA.Training.Cli.AdapterMethodSettings.HeadOnlyName;

    // ---- data ----
    /// <summary>Fashion-MNIST directory (<c>--data</c>); null searches $FASHION_MNIST_DIR, then the Debian package's folder.</summary>
    public string? DataDirectory { get; init; }
    /// <summary>Classes of the pretraining task, relabelled 0..n−1.</summary>
    public IReadOnlyList<int> SourceClasses { get; init; } = [0, 1, 2, 3, 4];
    /// <summary>Classes of the fine-tuning task, relabelled 0..n−1.</summary>
    public IReadOnlyList<int> TargetClasses { get; init; } = [5, 6, 7, 8, 9];
    /// <summary>Domain shift applied to the target task's images (train and test).</summary>
    public DomainShift Shift { get; init; } = DomainShift.None;
    /// <summary>Use at most this many training images per task (0: all of them).</summary>
    public int TrainLimit { get; init; }
    /// <summary>Evaluate on at most this many test images (0: all of them).</summary>
    public int TestLimit { get; init; }

    // ---- model and pretraining (the checkpoint's cache key) ----
    /// <summary>Patch side in pixels.</summary>
    public int Patch { get; init; } = VitConfig.Default.PatchSize;
    /// <summary>Token width.</summary>
    public int Dim { get; init; } = VitConfig.Default.Dim;
    /// <summary>Transformer blocks.</summary>
    public int Depth { get; init; } = VitConfig.Default.Depth;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = VitConfig.Default.Heads;
    /// <summary>MLP hidden width as a multiple of the token width.</summary>
    public int MlpRatio { get; init; } = VitConfig.Default.MlpRatio;
    /// <summary>Pretraining epochs over the source task.</summary>
    public int PretrainEpochs { get; init; } = 2;
    /// <summary>Pretraining steps; overrides <see cref="PretrainEpochs"/> when positive.</summary>
    public int PretrainSteps { get; init; }
    /// <summary>Pretraining learning rate (AdamW, cosine decay).</summary>
    public double PretrainLr { get; init; } = 1e-3;
    /// <summary>Pretraining batch size.</summary>
    public int PretrainBatch { get; init; } = 64;
    /// <summary>Seed of the pretraining (initial weights and batch order).</summary>
    public int PretrainSeed { get; init; }

    // ---- fine-tuning ----
    /// <summary>PEFT method name or alias (see <see cref="PeftMethods"/>), or <see cref="HeadOnly"/>.</summary>
    public string Method { get; init; } = "OneLoRA";
    /// <summary>Rank r (LoRA, DoRA, VeRA, MoRA's own rule).</summary>
    public int Rank { get; init; } = 1;
    /// <summary>LoRA/DoRA alpha; 0 means alpha = rank.</summary>
    public double Alpha { get; init; }
    /// <summary>Adapter dropout.</summary>
    public double Dropout { get; init; }
    /// <summary>Fine-tuning learning rate; null picks the method's default (<see cref="DefaultLearningRate"/>).</summary>
    public double? Lr { get; init; }
    /// <summary>AdamW weight decay (the paper's 0.01).</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Fine-tuning epochs over the target task.</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Fine-tuning steps; overrides <see cref="Epochs"/> when positive.</summary>
    public int Steps { get; init; }
    /// <summary>Fine-tuning batch size.</summary>
    public int Batch { get; init; } = 64;
    /// <summary>Evaluation batch size.</summary>
    public int EvalBatch { get; init; } = 100;
    /// <summary>Also train LayerNorm weights and biases (e.g. "1LoRA (norms)").</summary>
    public bool TrainNorms { get; init; }
    /// <summary>Also train the biases of the adapted layers.</summary>
    public bool TrainBiases { get; init; }
    /// <summary>Also train a per-output scale γ on every adapted layer.</summary>
    public bool TrainScale { get; init; }
    /// <summary>Adapt only the attention's query, key and value projections (the paper's "LoRA (QKV)", Fig. 4), not every Linear.</summary>
    public bool AttentionOnly { get; init; }
    /// <summary>1LoRA: compress with a fixed random vector instead of ones (paper Table S1).</summary>
    public bool RandomCompression { get; init; }
    /// <summary>1LoRA: seed of the random compression vector.</summary>
    public long CompressionSeed { get; init; }
    /// <summary>MoRA type: 1 (sharing) or 6 (RoPE).</summary>
    public int MoRAType { get; init; } = 1;
    /// <summary>MoRA r̂ rule.</summary>
    public MoRARankRule MoRARankRule { get; init; } = MoRARankRule.Paper;
    /// <summary>Seed of the fine-tuning (new head, batch order, random parts of methods).</summary>
    public int Seed { get; init; }

    // ---- run ----
    /// <summary>Intra-op threads for TorchSharp.</summary>
    public int Threads { get; init; } = 1;
    /// <summary><c>cpu</c> or <c>cuda</c> (<c>cuda:N</c>).</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Output directory; null means <c>runs/&lt;timestamp&gt;-&lt;method&gt;/</c>.</summary>
    public string? Out { get; init; }
    /// <summary>Checkpoint cache directory; null means $ONELORA_CACHE, else ~/.cache/onelora.</summary>
    public string? Cache { get; init; }
    /// <summary>Plain progress lines instead of a live bar (also when output is redirected or CI=true).</summary>
    public bool Plain { get; init; }

    /// <summary>True for the head-only baseline.</summary>
    public bool IsHeadOnly => string.Equals(Method, HeadOnly, StringComparison.OrdinalIgnoreCase);

    /// <summary>The method's canonical name (<c>Head</c> for the baseline).</summary>
    public string MethodName => IsHeadOnly ? "Head" : PeftMethods.TryResolve(Method, out var canonical) ? canonical : Method;

    /// <summary>A readable label with the combinations, e.g. <c>OneLoRA+norms</c>, <c>LoRA r=1</c>.</summary>
    public string MethodLabel
    {
        get
        {
            var label = MethodName;
            if (MethodName is "LoRA" or "DoRA" or "VeRA" || (MethodName == "MoRA" && MoRARankRule == MoRARankRule.MoRA)) label += $" r={Rank}";
            if (MethodName == "MoRA") label += $" type {MoRAType}";
            if (RandomCompression) label += "+random";
            if (TrainNorms) label += "+norms";
            if (TrainBiases) label += "+biases";
            if (TrainScale) label += "+scale";
            if (AttentionOnly) label += "+qkv";
            return label;
        }
    }

    /// <summary>
    /// Default fine-tuning learning rates, from sweeps on this task (see docs/main-job.md): the few-parameter methods need
    /// larger steps than full fine-tuning, which moves every weight; the head alone takes the largest, so the baseline is
    /// not a straw man.
    /// </summary>
    public static double DefaultLearningRate(string canonicalMethod) => canonicalMethod switch
    {
        "Head" => 5e-2,
        "Full" => 5e-4,
        "LoRA" or "DoRA" => 2e-3,
        _ => 5e-3,
    };

    /// <summary>The learning rate this run uses.</summary>
    public double LearningRate => Lr ?? DefaultLearningRate(MethodName);

    /// <summary>The source model's shape (head sized for the source classes).</summary>
    public VitConfig SourceModel => new(Patch, Dim, Depth, Heads, MlpRatio, SourceClasses.Count);

    /// <summary>The pretraining run that produces the base checkpoint; its hash is the cache key.</summary>
    public PretrainConfig Pretrain => new(SourceModel, SourceClasses.ToArray(), PretrainEpochs, PretrainSteps, PretrainLr, PretrainBatch, WeightDecay: 0.01, PretrainSeed, TrainLimit);

    /// <summary>The PEFT options for the library (method name, rank and combinations).</summary>
    public PeftOptions ToPeftOptions() => new()
    {
        Method = Method,
        Rank = Rank,
        Alpha = Alpha,
        Dropout = Dropout,
        TrainNorms = TrainNorms,
        TrainBiases = TrainBiases,
        TrainScale = TrainScale,
        RandomCompression = RandomCompression,
        CompressionSeed = CompressionSeed,
        MoRAType = MoRAType,
        MoRARankRule = MoRARankRule,
        ProjectionPrngKey = Seed,
    };

    /// <summary>Where checkpoints are cached: <see cref="Cache"/>, else $ONELORA_CACHE, else $XDG_CACHE_HOME/onelora, else ~/.cache/onelora (<see cref="CacheLocation"/>).</summary>
    public string CacheDirectory => CacheLocation.Resolve(Cache).Directory;

    /// <summary>What set <see cref="CacheDirectory"/>, named in errors: <c>--cache</c>, <c>ONELORA_CACHE</c>, <c>XDG_CACHE_HOME</c> or the default.</summary>
    public string CacheOrigin => CacheLocation.Resolve(Cache).Origin;

    /// <summary>The output directory of a run started at <paramref name="startedAt"/>.</summary>
    public string OutputDirectory(DateTime startedAt) =>
        !string.IsNullOrWhiteSpace(Out) ? Out
            : Path.Combine("runs", $"{startedAt.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{Slug(MethodLabel)}");

    /// <summary>A label as a folder name: lower case letters, digits and dashes.</summary>
    public static string Slug(string label) =>
        string.Join("-", label.ToLowerInvariant().Split([' ', '=', '+', '.', '/', ':'], StringSplitOptions.RemoveEmptyEntries));

    /// <summary>True for a layer path that <see cref="AttentionOnly"/> adapts: the last part is q, k, v.</summary>
    public static bool IsAttentionProjection(string path) => path[(path.LastIndexOf('.') + 1)..] is "q" or "k" or "v";

    /// <summary>Checks every value; the error names the option and what was expected.</summary>
    /// <exception cref="OptionException">A value is out of range, a method is unknown, or class lists are invalid.</exception>
    public RunOptions Validate()
    {
        if (!IsHeadOnly && !PeftMethods.TryResolve(Method, out _))
            throw new OptionException($"--method {Method}: unknown method. Valid: {HeadOnly}, {string.Join(", ", PeftMethods.NamesAndAliases)}.");
        if (IsHeadOnly && (TrainNorms || TrainBiases || TrainScale || RandomCompression))
            throw new OptionException("--method head trains only the new head; --train-norms, --train-biases, --train-scale and --random-compression need a PEFT method.");
        if (IsHeadOnly && AttentionOnly)
            throw new OptionException("--method head adapts no layer; --attention-only needs a PEFT method.");
        CheckClasses("--source-classes", SourceClasses);
        CheckClasses("--target-classes", TargetClasses);
        try { SourceModel.Validate(); }
        catch (ArgumentException e) { throw new OptionException(e.Message); }
        OptionChecks.Positive("--rank", Rank);
        OptionChecks.Positive("--batch", Batch);
        OptionChecks.Positive("--pretrain-batch", PretrainBatch);
        OptionChecks.Positive("--eval-batch", EvalBatch);
        OptionChecks.Positive("--threads", Threads);
        OptionChecks.NonNegative("--epochs", Epochs);
        OptionChecks.NonNegative("--steps", Steps);
        OptionChecks.NonNegative("--pretrain-epochs", PretrainEpochs);
        OptionChecks.NonNegative("--pretrain-steps", PretrainSteps);
        OptionChecks.NonNegative("--train-limit", TrainLimit);
        OptionChecks.NonNegative("--test-limit", TestLimit);
        if (Epochs == 0 && Steps == 0) throw new OptionException("--epochs 0 with --steps 0: nothing to train; give --epochs N or --steps N.");
        if (PretrainEpochs == 0 && PretrainSteps == 0) throw new OptionException("--pretrain-epochs 0 with --pretrain-steps 0: nothing to pretrain.");
        if (Lr is { } lr) OptionChecks.PositiveNumber("--lr", lr);
        OptionChecks.PositiveNumber("--pretrain-lr", PretrainLr);
        OptionChecks.NonNegativeNumber("--weight-decay", WeightDecay);
        if (!(Alpha >= 0 && double.IsFinite(Alpha))) throw new OptionException($"--alpha {Alpha}: must be ≥ 0 (0 means alpha = rank).");
        OptionChecks.Fraction("--dropout", Dropout);
        if (MoRAType is not (1 or 6)) throw new OptionException($"--mora-type {MoRAType}: MoRA has types 1 (sharing) and 6 (RoPE).");
        OptionChecks.Device("--device", Device);
        return this;
    }

    /// <summary>
    /// Parses a class list: comma-separated classes and ranges, e.g. <c>5-9</c>, <c>0,2,4</c>, <c>0-2,7</c>.
    /// </summary>
    /// <exception cref="OptionException">Not a list of integers and ranges; the message names <paramref name="option"/>.</exception>
    public static int[] ParseClasses(string option, string text)
    {
        var result = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-', StringSplitOptions.TrimEntries);
            if (range.Length == 1 && int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var single))
                result.Add(single);
            else if (range.Length == 2 && int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
                     && int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out var to) && from <= to)
                result.AddRange(Enumerable.Range(from, to - from + 1));
            else
                throw new OptionException($"{option} '{text}': '{part}' is not a class (0-9) or a range like 5-9; write e.g. 5-9 or 0,2,4.");
        }
        return result.ToArray();
    }

    /// <summary>A class list as <see cref="ParseClasses"/> reads it back (<c>5-9</c>, <c>0,2,4</c>).</summary>
    public static string FormatClasses(IReadOnlyList<int> classes)
    {
        var parts = new List<string>();
        for (int i = 0; i < classes.Count;)
        {
            int j = i;
            while (j + 1 < classes.Count && classes[j + 1] == classes[j] + 1) j++;
            parts.Add(j - i >= 2 ? $"{classes[i]}-{classes[j]}" : string.Join(",", classes.Skip(i).Take(j - i + 1)));
            i = j + 1;
        }
        return string.Join(",", parts);
    }

    private static void CheckClasses(string option, IReadOnlyList<int> classes)
    {
        if (classes.Count < 2) throw new OptionException($"{option}: a classification task needs at least two classes, got {classes.Count}.");
        foreach (var c in classes)
            if (c is < 0 or > 9) throw new OptionException($"{option}: class {c} is not a Fashion-MNIST class (0-9).");
        var repeated = classes.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new OptionException($"{option}: class {repeated.Key} is listed {repeated.Count()} times.");
    }
}
