using System;
using System.Linq;
using OneLoRA.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Pretrained.Tests;

public class MiniLMPeftTests
{
    [Fact]
    public void OneLoRA_attaches_to_every_HF_named_Linear_and_merged_equals_unmerged()
    {
        using var encoder = MiniLMEncoder.FromPackage();
        string[] texts = ["a short sentence", "the pretrained encoder is adapted on every linear layer of its six layers"];
        using var baseline = encoder.Encode(texts);

        var attachment = encoder.Model.AttachAdapters();
        string[] perLayer = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"];
        var expected = Enumerable.Range(0, 6).SelectMany(i => perLayer.Select(p => $"encoder.layer.{i}.{p}")).Order().ToList();
        Assert.Equal(expected, attachment.Layers.Select(l => l.Path).Order().ToList());
        Assert.Equal(384 * 5 * 6 + 1536 * 6, attachment.TrainableParameters().Sum(p => p.numel()));

        // 1LoRA starts as the base model.
        using (var start = encoder.Encode(texts))
            Assert.True((start - baseline).abs().max().item<float>() < 1e-6f);

        // Move every adapter off zero: the embeddings change (the interceptors route through the adapters)...
        var g = new torch.Generator(7);
        using (torch.no_grad())
            foreach (var p in attachment.TrainableParameters())
                p.copy_(torch.randn(p.shape, generator: g) * 0.02);
        using var adapted = encoder.Encode(texts);
        Assert.True((adapted - baseline).abs().max().item<float>() > 1e-3f);

        // ...and merging them into the weights gives the same embeddings.
        attachment.Merge();
        using var merged = encoder.Encode(texts);
        Assert.True((merged - adapted).abs().max().item<float>() < 1e-5f);
    }
}
