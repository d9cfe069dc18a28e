using System;
using OneLoRA;
using TorchSharp;
using static TorchSharp.torch;

#pragma warning disable IDE1006 // naming: HF names

namespace OneLoRA.Models.Bert;

/// <summary>
/// A BERT encoder made of ordinary TorchSharp modules whose parameter names are Hugging Face's
/// (<c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.0.attention.self.query.weight</c>, …), so HF
/// checkpoints load by name with <see cref="OneLoRA.Pretrained.PretrainedLoader"/>. Its Linears (query, key, value,
/// attention.output.dense, intermediate.dense, output.dense) are the PEFT targets. No pooler: sentence embeddings
/// use <see cref="MeanPool"/>. Dropout acts in training mode only.
/// </summary>
[Peft(Method.OneLoRA)]
public sealed partial class BertModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoderStack encoder;

    /// <summary>A freshly initialised encoder of shape <paramref name="config"/> (load weights afterwards).</summary>
    public BertModel(BertConfig config) : base(nameof(BertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoderStack(config);
        RegisterComponents();
    }

    /// <summary>The shape this model was built with.</summary>
    public BertConfig Config { get; }

    /// <summary>
    /// Last hidden state [B, T, H] for token ids [B, T], attention mask [B, T] (1 token, 0 padding) and token types [B, T].
    /// </summary>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var x = embeddings.call(inputIds, tokenTypeIds);
        // Additive mask [B, 1, 1, T]: 0 where attended, the dtype's lowest value where padded (as Hugging Face).
        var keep = attentionMask.to(x.dtype).unsqueeze(1).unsqueeze(2);
        var additive = (1.0 - keep) * torch.finfo(x.dtype).min;
        return encoder.call(x, additive).MoveToOuterDisposeScope();
    }

    /// <summary>sentence-transformers mean pooling: the mean of the hidden states of the attended tokens, [B, T, H] → [B, H].</summary>
    public static Tensor MeanPool(Tensor lastHiddenState, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var mask = attentionMask.to(lastHiddenState.dtype).unsqueeze(-1);
        var summed = (lastHiddenState * mask).sum(1);
        var counts = mask.sum(1).clamp_min(1e-9);
        return (summed / counts).MoveToOuterDisposeScope();
    }

    /// <summary>L2 normalisation of each row (eps 1e-12, as torch.nn.functional.normalize).</summary>
    public static Tensor Normalize(Tensor embeddings) => nn.functional.normalize(embeddings, p: 2, dim: 1, eps: 1e-12);
}
