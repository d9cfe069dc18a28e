using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using OneLoRA;
using OneLoRA.Models;
using OneLoRA.Training.Cli;
using TextClassify.Data;

namespace TextClassify.Cli;

/// <summary>
/// Every option of a fine-tuning run, as the command line gives them. Defaults are the README's main command:
/// 1LoRA on every Linear of all-MiniLM-L6-v2 and a new head, WordNet's 26 noun supersenses, a budget that fits a few
/// minutes on two CPU cores (see docs/text-classify.md).
/// </summary>
public sealed record RunOptions
{
    /// <summary>The method name meaning "train only a new head, no adapters" (the baseline).</summary>
    public const string HeadOnly = OneLoRA.Training.Cli.AdapterMethodSettings.HeadOnlyName;

    // ---- data ----
    /// <summary>A TSV file of <c>text&lt;TAB&gt;label</c> lines (<c>--data</c>); null means WordNet's noun supersenses.</summary>
    public string? Data { get; init; }
    /// <summary>WordNet's data.noun (<c>--wordnet</c>); null means $WNSEARCHDIR/data.noun, else /usr/share/wordnet/data.noun.</summary>
    public string? WordNet { get; init; }
    /// <summary>Keep only these labels' examples (empty: all).</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];
    /// <summary>Train on at most this many examples of the training part (0: all), an unbiased hashed subset.</summary>
    public int TrainLimit { get; init; }
    /// <summary>Evaluate on at most this many examples of the test part (0: all), an unbiased hashed subset.</summary>
    public int TestLimit { get; init; } = 2000;
    /// <summary>Tokens per text, [CLS] and [SEP] included; longer texts are cut.</summary>
    public int MaxLen { get; init; } = 32;

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
    /// <summary>Learning rate of the new head; null picks <see cref="DefaultHeadLearningRate"/> (see <see cref="HeadLearningRate"/>).</summary>
    public double? HeadLr { get; init; }
    /// <summary>AdamW weight decay (the paper's 0.01).</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Epochs over the training part; used when <see cref="Steps"/> is 0.</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Fine-tuning steps; overrides <see cref="Epochs"/> when positive.</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Fine-tuning batch size.</summary>
    public int Batch { get; init; } = 32;
    /// <summary>Evaluation batch size.</summary>
    public int EvalBatch { get; init; } = 128;
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
    /// Default learning rates per method family (docs/text-classify.md); the new head has its own (<see cref="HeadLearningRate"/>). Measured
    /// on four supersenses (120 steps): 1LoRA at 5e-3 wrecks the pretrained features (54 % against 78 % at 1e-3); the
    /// head alone takes 1e-2 (82.8 %; 79.8 % at 5e-3). LoRA/DoRA and full fine-tuning rates are not yet swept.
    /// </summary>
    public static double DefaultLearningRate(string canonicalMethod) => canonicalMethod switch
    {
        "Head" => 1e-2,
        "Full" => 1e-4,
        _ => 1e-3,
    };

    /// <summary>The learning rate of the method's parameters; for the head method, <see cref="HeadLearningRate"/>.</summary>
    public double LearningRate => IsHeadOnly ? HeadLearningRate : Lr ?? DefaultLearningRate(MethodName);

    /// <summary>The head-only baseline's rate, the default of <c>--head-lr</c> (82.8 % on four supersenses, 120 steps).</summary>
    public const double DefaultHeadLearningRate = 1e-2;

    /// <summary>
    /// The learning rate of the new head (its own AdamW group): <c>--head-lr</c>, else 1e-2; the head method, whose only
    /// parameters the head holds, also takes <c>--lr</c> when only that is given.
    /// </summary>
    public double HeadLearningRate => HeadLr ?? (IsHeadOnly ? Lr : null) ?? DefaultHeadLearningRate;

    /// <summary>The WordNet data file this run reads when <see cref="Data"/> is null.</summary>
    public string WordNetPath => WordNet ?? WordNetNouns.DefaultPath();

    /// <summary>Steps for a training part of <paramref name="trainCount"/> examples.</summary>
    public int StepsFor(long trainCount) => Steps > 0 ? Steps : (int)Math.Max(1, Epochs * Math.Max(1, trainCount / Batch));

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

    /// <summary>The output directory of a run started at <paramref name="startedAt"/>.</summary>
    public string OutputDirectory(DateTime startedAt) =>
        !string.IsNullOrWhiteSpace(Out) ? Out
            : Path.Combine("runs", $"{startedAt.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{Slug(MethodLabel)}");

    /// <summary>A label as a folder name: lower case letters, digits and dashes.</summary>
    public static string Slug(string label) =>
        string.Join("-", label.ToLowerInvariant().Split([' ', '=', '+', '.', '/', ':'], StringSplitOptions.RemoveEmptyEntries));

    /// <summary>True for a layer path that <see cref="AttentionOnly"/> adapts: the last part is query, key, value.</summary>
    public static bool IsAttentionProjection(string path) => path[(path.LastIndexOf('.') + 1)..] is "query" or "key" or "value";

    /// <summary>Checks every value; the error names the option and what was expected.</summary>
    /// <exception cref="OptionException">A value is out of range or a method is unknown.</exception>
    public RunOptions Validate()
    {
        if (!IsHeadOnly && !PeftMethods.TryResolve(Method, out _))
            throw new OptionException($"--method {Method}: unknown method. Valid: {HeadOnly}, {string.Join(", ", PeftMethods.NamesAndAliases)}.");
        if (IsHeadOnly && (TrainNorms || TrainBiases || TrainScale || RandomCompression))
            throw new OptionException("--method head trains only the new head; --train-norms, --train-biases, --train-scale and --random-compression need a PEFT method.");
        if (IsHeadOnly && AttentionOnly)
            throw new OptionException("--method head adapts no layer; --attention-only needs a PEFT method.");
        Positive("--rank", Rank);
        Positive("--batch", Batch);
        Positive("--eval-batch", EvalBatch);
        Positive("--threads", Threads);
        NonNegative("--epochs", Epochs);
        NonNegative("--steps", Steps);
        NonNegative("--train-limit", TrainLimit);
        NonNegative("--test-limit", TestLimit);
        if (MaxLen < 3 || MaxLen > MiniLMEncoder.MaxTokens)
            throw new OptionException($"--max-len {MaxLen}: must be between 3 ([CLS], one token, [SEP]) and {MiniLMEncoder.MaxTokens} (the model's limit).");
        if (Epochs == 0 && Steps == 0) throw new OptionException("--epochs 0 with --steps 0: nothing to train; give --epochs N or --steps N.");
        if (Lr is { } lr && !(lr > 0 && double.IsFinite(lr))) throw new OptionException($"--lr {lr}: the learning rate must be a positive number.");
        if (HeadLr is { } headLr && !(headLr > 0 && double.IsFinite(headLr))) throw new OptionException($"--head-lr {headLr}: the learning rate must be a positive number.");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) throw new OptionException($"--weight-decay {WeightDecay}: must be ≥ 0.");
        if (!(Alpha >= 0 && double.IsFinite(Alpha))) throw new OptionException($"--alpha {Alpha}: must be ≥ 0 (0 means alpha = rank).");
        if (!(Dropout >= 0 && Dropout < 1)) throw new OptionException($"--dropout {Dropout}: must be in [0, 1).");
        if (MoRAType is not (1 or 6)) throw new OptionException($"--mora-type {MoRAType}: MoRA has types 1 (sharing) and 6 (RoPE).");
        if (Data is not null && WordNet is not null) throw new OptionException("--data and --wordnet: give one (a TSV file, or WordNet's data.noun).");
        var repeated = Labels.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new OptionException($"--labels: '{repeated.Key}' is listed {repeated.Count()} times.");
        if (Labels.Count == 1) throw new OptionException($"--labels {Labels[0]}: a classification task needs at least two labels.");
        if (!Device.Equals("cpu", StringComparison.OrdinalIgnoreCase) && !Device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase))
            throw new OptionException($"--device {Device}: expected cpu, cuda or cuda:N.");
        return this;
    }

    /// <summary>A comma-separated label list (<c>--labels noun.animal,noun.plant</c>); empty text is no selection.</summary>
    /// <exception cref="OptionException">An entry is empty.</exception>
    public static IReadOnlyList<string> ParseLabels(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Any(p => p.Length == 0)) throw new OptionException($"--labels '{text}': an empty entry; write e.g. noun.animal,noun.plant.");
        return parts;
    }

    private static void Positive(string option, int value)
    {
        if (value < 1) throw new OptionException($"{option} {value}: must be at least 1.");
    }

    private static void NonNegative(string option, int value)
    {
        if (value < 0) throw new OptionException($"{option} {value}: must be ≥ 0.");
    }
}
