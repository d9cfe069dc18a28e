using System;
using System.Linq;
using OneLoRA;
using OneLoRA.Models;
using OneLoRA.Models.Bert;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace TextClassify.Tests;

public class ModelTests
{
    [Fact]
    public void LogitsAreTheHeadOnTheMeanOfTheAttendedHiddenStates()
    {
        using var encoder = MiniLMEncoder.FromPackage(dropout: 0);
        using var g = new Generator(3);
        using var model = new SentenceClassifier(encoder.Model, 4, g);
        model.eval();
        var ids = new[] { encoder.TokenIds("dog: a member of the genus Canis"), encoder.TokenIds("oak: a tree") };
        var (input, mask, types) = MiniLMEncoder.Pad(ids, CPU);
        using var _ = no_grad();
        var logits = model.call(input, mask, types).to(ScalarType.Float64).data<double>().ToArray();

        // Independent: hidden states of the encoder, masked mean in double loops, then W·x + b in double.
        var hidden = encoder.Model.call(input, mask, types).to(ScalarType.Float64);
        var h = hidden.data<double>().ToArray();
        var w = model.Classifier.weight!.to(ScalarType.Float64).data<double>().ToArray();
        var b = model.Classifier.bias!.to(ScalarType.Float64).data<double>().ToArray();
        long t = hidden.shape[1], d = hidden.shape[2];
        for (int row = 0; row < 2; row++)
        {
            var mean = new double[d];
            for (int pos = 0; pos < ids[row].Length; pos++)
                for (int k = 0; k < d; k++) mean[k] += h[(row * t + pos) * d + k] / ids[row].Length;
            for (int c = 0; c < 4; c++)
            {
                double expected = b[c];
                for (int k = 0; k < d; k++) expected += w[c * d + k] * mean[k];
                Assert.Equal(expected, logits[row * 4 + c], 4);
            }
        }
    }

    [Fact]
    public void PaddingDoesNotChangeATextsLogits()
    {
        using var encoder = MiniLMEncoder.FromPackage(dropout: 0);
        using var g = new Generator(1);
        using var model = new SentenceClassifier(encoder.Model, 3, g);
        model.eval();
        using var _ = no_grad();
        var shortIds = encoder.TokenIds("cat");
        var alone = MiniLMEncoder.Pad([shortIds], CPU);
        var padded = MiniLMEncoder.Pad([shortIds, encoder.TokenIds("a much longer text that forces padding of the first one")], CPU);
        Assert.Equal(3, alone.InputIds.shape[1]);
        Assert.Equal([1L, 1, 1, 0, 0], padded.AttentionMask[0].narrow(0, 0, 5).data<long>().ToArray());
        var a = model.call(alone.InputIds, alone.AttentionMask, alone.TokenTypeIds);
        var p = model.call(padded.InputIds, padded.AttentionMask, padded.TokenTypeIds)[0];
        Assert.True((a[0] - p).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void TheHeadIsInitialisedFromTheGivenGeneratorAsNnLinearIs()
    {
        using var encoder = MiniLMEncoder.FromPackage(dropout: 0);
        using var g1 = new Generator(42);
        using var a = new SentenceClassifier(encoder.Model, 5, g1);
        using var g2 = new Generator(42);
        using var b = new SentenceClassifier(encoder.Model, 5, g2);
        using var g3 = new Generator(43);
        using var c = new SentenceClassifier(encoder.Model, 5, g3);
        Assert.True(a.Classifier.weight!.eq(b.Classifier.weight!).all().item<bool>());
        Assert.False(a.Classifier.weight!.eq(c.Classifier.weight!).any().item<bool>());
        double bound = 1 / Math.Sqrt(384);
        Assert.InRange(a.Classifier.weight!.abs().max().item<float>(), 0.9 * bound, bound);
        Assert.InRange(a.Classifier.bias!.abs().max().item<float>(), 0, bound);
        Assert.Equal([5L, 384], a.Classifier.weight!.shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SentenceClassifier(encoder.Model, 1, g1));
    }

    [Fact]
    public void AdaptersGoOnEveryEncoderLinearAndTheHeadIsTrainedInFull()
    {
        using var encoder = MiniLMEncoder.FromPackage(dropout: 0);
        using var g = new Generator(0);
        using var model = new SentenceClassifier(encoder.Model, 26, g);
        var attachment = model.AttachAdapters();
        attachment.TrainFully("classifier", model.Classifier);
        Assert.Equal(36, attachment.Layers.Count);
        Assert.All(attachment.Layers, l => Assert.StartsWith("bert.encoder.layer.", l.Path));
        Assert.DoesNotContain(attachment.Layers, l => l.Path.Contains("classifier"));
        var trainable = attachment.NamedTrainableParameters().ToList();
        Assert.Contains(trainable, p => p.Name == "classifier.weight");
        Assert.Contains(trainable, p => p.Name == "classifier.bias");
        // 1LoRA: one vector per layer of its output width (5 × 384 + 1536 per layer, 6 layers); head 26 × 384 + 26.
        Assert.Equal(6 * (5 * 384 + 1536) + 26 * 384 + 26, trainable.Sum(p => p.Parameter.numel()));
        // The encoder's own weights are frozen; what trains inside it is the adapters (registered beside their layers).
        Assert.All(model.Encoder.named_parameters(), p => Assert.Equal(p.name.Contains("_onelora."), p.parameter.requires_grad));
        Assert.Equal(36, model.Encoder.named_parameters().Count(p => p.parameter.requires_grad));
    }

    [Fact]
    public void TokenIdsAreCutToTheLimitKeepingClsAndSep()
    {
        using var encoder = MiniLMEncoder.FromPackage(dropout: 0);
        var full = encoder.TokenIds("the quick brown fox jumps over the lazy dog");
        var cut = encoder.TokenIds("the quick brown fox jumps over the lazy dog", 5);
        Assert.Equal(11, full.Length);
        Assert.Equal([.. full.Take(4), full[^1]], cut);
        Assert.Equal(encoder.Tokenizer.ClassificationTokenId, cut[0]);
        Assert.Equal(encoder.Tokenizer.SeparatorTokenId, cut[^1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.TokenIds("x", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.TokenIds("x", MiniLMEncoder.MaxTokens + 1));
    }
}
