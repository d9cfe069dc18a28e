using System;
using OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// Module and field names follow Hugging Face's BertModel exactly (including "self" and "LayerNorm"), so that
// a checkpoint's names are the model's parameter names: encoder.layer.0.attention.self.query.weight, …
#pragma warning disable IDE1006 // naming: HF names

namespace OneLoRA.Models.Bert;

/// <summary>Word + position + token-type embeddings, then LayerNorm and dropout.</summary>
public sealed class BertEmbeddings : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    /// <summary>Embeddings for <paramref name="config"/>.</summary>
    public BertEmbeddings(BertConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropout);
        RegisterComponents();
    }

    /// <summary>[B, T] ids and token types → [B, T, H].</summary>
    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds)
    {
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        var x = word_embeddings.forward(inputIds) + position_embeddings.forward(positions) + token_type_embeddings.forward(tokenTypeIds);
        return dropout.forward(LayerNorm.forward(x));
    }
}

/// <summary>Multi-head scaled dot-product self-attention with Hugging Face's query, key and value Linears.</summary>
[Peft(Method.OneLoRA)]
public sealed partial class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear query, key, value;
    private readonly long heads;
    private readonly double attentionDropout;

    /// <summary>Attention for <paramref name="config"/>.</summary>
    public BertSelfAttention(BertConfig config) : base(nameof(BertSelfAttention))
    {
        heads = config.NumAttentionHeads;
        attentionDropout = config.AttentionDropout;
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    /// <summary>[B, T, H] and an additive mask [B, 1, 1, T] (0 keep, large negative drop) → [B, T, H].</summary>
    public override Tensor forward(Tensor x, Tensor additiveMask)
    {
        var context = nn.functional.scaled_dot_product_attention(
            SplitHeads(query.forward(x)), SplitHeads(key.forward(x)), SplitHeads(value.forward(x)),
            attn_mask: additiveMask, p: training ? attentionDropout : 0.0);
        return context.transpose(1, 2).flatten(2);
    }

    // [B, T, H] -> [B, heads, T, H/heads]
    private Tensor SplitHeads(Tensor t) => t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2);
}

/// <summary>
/// Projection to the hidden size, dropout, residual and LayerNorm: HF's <c>BertSelfOutput</c> (<c>attention.output</c>,
/// from the hidden size) and <c>BertOutput</c> (<c>output</c>, from the intermediate size) are this one block.
/// </summary>
[Peft(Method.OneLoRA)]
public sealed partial class BertOutputBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    /// <summary>Output block from <paramref name="inFeatures"/> to <paramref name="config"/>'s hidden size.</summary>
    public BertOutputBlock(long inFeatures, BertConfig config) : base(nameof(BertOutputBlock))
    {
        dense = nn.Linear(inFeatures, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropout);
        RegisterComponents();
    }

    /// <summary>LayerNorm(residual + dropout(dense(hidden))).</summary>
    public override Tensor forward(Tensor hidden, Tensor residual) => LayerNorm.forward(dropout.forward(dense.forward(hidden)) + residual);
}

/// <summary>Self-attention and its output block (<c>attention</c>).</summary>
[Peft(Method.OneLoRA)]
public sealed partial class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertSelfAttention self;
    private readonly BertOutputBlock output;

    /// <summary>Attention for <paramref name="config"/>.</summary>
    public BertAttention(BertConfig config) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(config);
        output = new BertOutputBlock(config.HiddenSize, config);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor additiveMask) => output.call(self.call(x, additiveMask), x);
}

/// <summary>Feed-forward expansion with erf GELU (<c>intermediate</c>).</summary>
[Peft(Method.OneLoRA)]
public sealed partial class BertIntermediate : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    /// <summary>Expansion for <paramref name="config"/>.</summary>
    public BertIntermediate(BertConfig config) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        RegisterComponents();
    }

    /// <summary>gelu(dense(x)), the exact (erf) GELU as in BERT.</summary>
    public override Tensor forward(Tensor x) => nn.functional.gelu(dense.forward(x));
}

/// <summary>One transformer layer (post-norm, as BERT).</summary>
[Peft(Method.OneLoRA)]
public sealed partial class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertOutputBlock output;

    /// <summary>A layer for <paramref name="config"/>.</summary>
    public BertLayer(BertConfig config) : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertOutputBlock(config.IntermediateSize, config);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor additiveMask)
    {
        var a = attention.call(x, additiveMask);
        return output.call(intermediate.call(a), a);
    }
}

/// <summary>The stack of layers (<c>encoder.layer.N</c>).</summary>
[Peft(Method.OneLoRA)]
public sealed partial class BertEncoderStack : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<BertLayer> layer;

    /// <summary>The layers of <paramref name="config"/>.</summary>
    public BertEncoderStack(BertConfig config) : base(nameof(BertEncoderStack))
    {
        layer = new ModuleList<BertLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++) layer.Add(new BertLayer(config));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor additiveMask)
    {
        foreach (var l in layer)
        {
            // A scope per layer frees its temporaries as soon as it is done (autograd keeps what backward needs).
            using var scope = NewDisposeScope();
            x = l.call(x, additiveMask).MoveToOuterDisposeScope();
        }
        return x;
    }
}
