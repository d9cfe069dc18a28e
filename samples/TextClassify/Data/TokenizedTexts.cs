using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Models;
using static TorchSharp.torch;

namespace TextClassify.Data;

/// <summary>
/// Examples tokenized once (WordPiece ids, at most <c>maxTokens</c> each) with their label indices; batches are padded
/// to the longest sequence in the batch, not to <c>maxTokens</c>, so short texts cost less.
/// </summary>
public sealed class TokenizedTexts : IDisposable
{
    private readonly int[][] ids;

    /// <summary>Tokenizes <paramref name="examples"/> with <paramref name="encoder"/>'s tokenizer; <paramref name="labels"/> are their label indices.</summary>
    public TokenizedTexts(MiniLMEncoder encoder, IReadOnlyList<LabeledText> examples, long[] labels, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (labels.Length != examples.Count) throw new ArgumentException($"{examples.Count} examples but {labels.Length} labels.", nameof(labels));
        ids = examples.Select(e => encoder.TokenIds(e.Text, maxTokens)).ToArray();
        Labels = tensor(labels, ScalarType.Int64);
    }

    /// <summary>Number of examples.</summary>
    public long Count => ids.Length;

    /// <summary>Label indices, int64 [n] on the CPU.</summary>
    public Tensor Labels { get; }

    /// <summary>Mean tokens per example, [CLS] and [SEP] included.</summary>
    public double MeanTokens => ids.Length == 0 ? 0 : ids.Average(a => a.Length);

    /// <summary>Examples at <paramref name="maxTokens"/> ids: cut by the limit, or exactly that long.</summary>
    public int AtLimit(int maxTokens) => ids.Count(a => a.Length >= maxTokens);

    /// <summary>The padded batch of the examples at <paramref name="indices"/> (int64 [b], CPU), on <paramref name="device"/>.</summary>
    public (Tensor InputIds, Tensor AttentionMask, Tensor TokenTypeIds) Batch(Tensor indices, Device device)
    {
        var rows = indices.data<long>().Select(i => ids[i]).ToArray();
        return MiniLMEncoder.Pad(rows, device);
    }

    /// <inheritdoc />
    public void Dispose() => Labels.Dispose();
}
