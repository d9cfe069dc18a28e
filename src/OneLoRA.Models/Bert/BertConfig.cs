using System;

namespace OneLoRA.Models.Bert;

/// <summary>Shape of a BERT encoder (Hugging Face <c>BertConfig</c> names).</summary>
/// <param name="VocabSize">Word-piece vocabulary size.</param>
/// <param name="HiddenSize">Token width.</param>
/// <param name="NumHiddenLayers">Number of transformer layers.</param>
/// <param name="NumAttentionHeads">Attention heads; must divide <paramref name="HiddenSize"/>.</param>
/// <param name="IntermediateSize">Width of each layer's feed-forward block.</param>
/// <param name="MaxPositionEmbeddings">Longest sequence (learned absolute positions).</param>
/// <param name="TypeVocabSize">Number of token types (segments).</param>
/// <param name="LayerNormEps">LayerNorm epsilon (BERT: 1e-12).</param>
/// <param name="HiddenDropout">Dropout after embeddings and each projection, in training mode.</param>
/// <param name="AttentionDropout">Dropout on attention probabilities, in training mode.</param>
public sealed record BertConfig(
    long VocabSize = 30522,
    long HiddenSize = 768,
    int NumHiddenLayers = 12,
    long NumAttentionHeads = 12,
    long IntermediateSize = 3072,
    long MaxPositionEmbeddings = 512,
    long TypeVocabSize = 2,
    double LayerNormEps = 1e-12,
    double HiddenDropout = 0.1,
    double AttentionDropout = 0.1)
{
    /// <summary>all-MiniLM-L6-v2: 6 layers, width 384, 12 heads, feed-forward 1536.</summary>
    public static BertConfig MiniLML6 { get; } = new(HiddenSize: 384, NumHiddenLayers: 6, NumAttentionHeads: 12, IntermediateSize: 1536);

    /// <summary>Throws on a shape that cannot be built.</summary>
    /// <exception cref="ArgumentException">A size is not positive or the heads do not divide the width.</exception>
    public void Validate()
    {
        if (VocabSize < 1 || HiddenSize < 1 || NumHiddenLayers < 1 || NumAttentionHeads < 1 || IntermediateSize < 1 || MaxPositionEmbeddings < 1 || TypeVocabSize < 1)
            throw new ArgumentException($"BertConfig: every size must be positive ({this}).");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"BertConfig: {NumAttentionHeads} heads do not divide the hidden size {HiddenSize}.");
    }
}
