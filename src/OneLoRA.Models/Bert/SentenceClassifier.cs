using System;
using OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

#pragma warning disable IDE1006 // naming: HF names (bert, classifier)

namespace OneLoRA.Models.Bert;

/// <summary>
/// Text classification on a pretrained BERT encoder: sentence-transformers mean pooling of the last hidden state,
/// then a new Linear head. Every Linear of the encoder is a PEFT target; the head is not adapted but trained in
/// full (PEFT's <c>modules_to_save</c>: attach, then <c>attachment.TrainFully("classifier", model.Classifier)</c>).
/// Parameter names are Hugging Face's (<c>bert.encoder.layer.0.attention.self.query.weight</c>, <c>classifier.weight</c>).
/// </summary>
[Peft(Method.OneLoRA)]
public sealed partial class SentenceClassifier : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly BertModel bert;
    [NoPeft] private readonly Linear classifier;

    /// <summary>
    /// Wraps <paramref name="encoder"/> (which this module then owns) with a head of <paramref name="classes"/> outputs,
    /// initialised as nn.Linear does (uniform ±1/√in for weight and bias) from <paramref name="generator"/>, not the global one.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than two classes.</exception>
    public SentenceClassifier(BertModel encoder, int classes, Generator generator) : base(nameof(SentenceClassifier))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(generator);
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "A classifier needs at least two classes.");
        bert = encoder;
        var weight = encoder.parameters().GetEnumerator();
        weight.MoveNext();
        var device = weight.Current.device;
        var hidden = encoder.Config.HiddenSize;
        classifier = nn.Linear(hidden, classes, device: device);
        using (no_grad())
        {
            double bound = 1.0 / Math.Sqrt(hidden);
            classifier.weight!.copy_(rand([classes, hidden], generator: generator).mul_(2 * bound).sub_(bound));
            classifier.bias!.copy_(rand([classes], generator: generator).mul_(2 * bound).sub_(bound));
        }
        Classes = classes;
        RegisterComponents();
    }

    /// <summary>Number of classes (outputs of the head).</summary>
    public int Classes { get; }

    /// <summary>The encoder (adapted).</summary>
    public BertModel Encoder => bert;

    /// <summary>The new classification head (trained in full, never adapted).</summary>
    public Linear Classifier => classifier;

    /// <summary>Logits [B, classes] for token ids, attention mask and token types, each [B, T].</summary>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var pooled = BertModel.MeanPool(bert.call(inputIds, attentionMask, tokenTypeIds), attentionMask);
        return classifier.forward(pooled).MoveToOuterDisposeScope();
    }
}
