using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FashionVit.Cli;
using FashionVit.Model;
using FashionVit.Training;
using OneLoRA;
using OneLoRA.Methods.OneLoRA;
using OneLoRA.Training;
using OneLoRA.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FashionVit.Tests;

public sealed class ModelTests : IDisposable
{
    private static readonly VitConfig Small = new(PatchSize: 7, Dim: 16, Depth: 2, Heads: 2, MlpRatio: 2, Classes: 3);
    private readonly string directory = Directory.CreateTempSubdirectory("fashionvit-model-").FullName;

    public ModelTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string[] ExpectedAdaptedPaths(int depth) =>
        ["embed", .. Enumerable.Range(0, depth).SelectMany(i => new[] { "q", "k", "v", "o", "fc1", "fc2" }.Select(n => $"blocks.{i}.{n}"))];

    [Fact]
    public void PatchifyCutsRowMajorPatchesLikeAnExplicitLoop()
    {
        var images = arange(2 * 28 * 28, dtype: ScalarType.Float32).reshape(2, 1, 28, 28);
        var patches = VisionTransformer.Patchify(images, 7);
        Assert.Equal(new long[] { 2, 16, 49 }, patches.shape);
        var pixels = images.data<float>().ToArray();
        var actual = patches.data<float>().ToArray();
        for (int b = 0; b < 2; b++)
        for (int py = 0; py < 4; py++)
        for (int px = 0; px < 4; px++)
        for (int y = 0; y < 7; y++)
        for (int x = 0; x < 7; x++)
        {
            float expected = pixels[b * 784 + (py * 7 + y) * 28 + px * 7 + x];
            Assert.Equal(expected, actual[(b * 16 + py * 4 + px) * 49 + y * 7 + x]);
        }
    }

    /// <summary>
    /// A model whose random weights come from a generator of the test's own, not the global RNG that parallel test
    /// classes share: Linear weights and biases U(±1/√in) (TorchSharp's default), pos_embed N(0, 0.02²) (the model's).
    /// </summary>
    private static VisionTransformer Seeded(VitConfig config, ulong seed)
    {
        var model = new VisionTransformer(config);
        using var generator = new Generator(seed, device: CPU);
        using var _ = no_grad();
        foreach (var (_, module) in model.named_modules())
            if (module is Linear linear)
            {
                var bound = 1 / Math.Sqrt(linear.in_features);
                linear.weight.uniform_(-bound, bound, generator);
                linear.bias?.uniform_(-bound, bound, generator);
            }
        model.named_parameters().Single(p => p.name == "pos_embed").parameter.normal_(0, 0.02, generator);
        return model;
    }

    [Fact]
    public void GeneratedAttachAdaptsEveryLinearButTheHead()
    {
        using var model = Seeded(Small, 2);
        var attachment = model.AttachAdapters();
        Assert.Equal("OneLoRA", attachment.Method.Name);
        Assert.Equal(ExpectedAdaptedPaths(Small.Depth), attachment.Layers.Select(l => l.Path));
        Assert.Null(Peft.AdapterFor(model.Head));
        // Everything is frozen but the adapters' b vectors until the head is trained in full.
        Assert.All(attachment.NamedTrainableParameters(), p => Assert.EndsWith("_onelora.b", p.Name));
        attachment.TrainFully("head", model.Head);
        Assert.Contains(attachment.NamedTrainableParameters(), p => p.Name == "head.weight");
        var report = attachment.Report();
        long adapters = attachment.Layers.Sum(l => l.Layer.out_features);
        Assert.Equal(adapters + Small.Dim * Small.Classes + Small.Classes, report.Trainable);
    }

    [Fact]
    public void InterceptedForwardEqualsAPlainModelWithExplicitDeltaW()
    {
        using var adapted = Seeded(Small, 1);
        var basePath = Path.Combine(directory, "base.safetensors");
        adapted.SaveWeights(basePath);
        var attachment = adapted.AttachAdapters();
        var generator = new Generator(7);
        var vectors = new Dictionary<string, Tensor>();
        using (no_grad())
            foreach (var l in attachment.Layers)
            {
                var b = ((OneLoRAAdapter)l.Adapter).DecompressionVector;
                b.copy_(randn(b.shape, generator: generator) * 0.1);
                vectors[l.Path] = b.detach().to(ScalarType.Float64);
            }

        using var plain = new VisionTransformer(Small);
        plain.LoadWeights(basePath);
        var layers = plain.named_modules().ToDictionary(m => m.name, m => m.module);
        using (no_grad())
            foreach (var (path, b) in vectors)
            {
                // ΔW = b·1ᵀ built independently in float64: row i of W gains b[i].
                var linear = (Linear)layers[path];
                var w = linear.weight.to(ScalarType.Float64) + outer(b, ones(linear.in_features, dtype: ScalarType.Float64));
                linear.weight.copy_(w.to(ScalarType.Float32));
            }

        var x = randn(4, 1, 28, 28, generator: generator);
        adapted.eval();
        plain.eval();
        using (no_grad())
        {
            var expected = plain.call(x);
            var actual = adapted.call(x);
            Assert.True(allclose(actual, expected, rtol: 1e-4, atol: 1e-4), $"max difference {(actual - expected).abs().max().item<float>()}");
            attachment.Layers.ToList().ForEach(l => l.Adapter.Enabled = false);
            Assert.False(allclose(adapted.call(x), expected, rtol: 1e-3, atol: 1e-3), "disabled adapters must give the base output");
        }
    }

    public static IEnumerable<object[]> RegisteredMethods() => PeftMethods.Names.Select(n => new object[] { n }).Append([RunOptions.HeadOnly]);

    [Theory]
    [MemberData(nameof(RegisteredMethods))]
    public void MergedEvaluationEqualsUnmergedAfterTraining(string method)
    {
        using var generator = new Generator(3, device: CPU);
        var images = randn(96, 1, 28, 28, generator: generator);
        var labels = randint(0, Small.Classes, [96], generator: generator);
        using var data = TaskData.FromTensors(images, labels, [0, 1, 2]);
        using var model = Seeded(Small, 3);
        var attachment = FineTuneJob.Attach(model, new RunOptions { Method = method });
        Trainer.Train(model, attachment.TrainableParameters(), data.Batches(model, CPU),
            new TrainingSettings { Steps = 4, Batch = 32, LearningRate = 3e-2, WeightDecay = 0, Phase = "test" },
            TrainingProgress.Create(plain: true, TextWriter.Null));

        using var before = Trainer.Evaluate(model, data.Batches(model, CPU), batch: 40);
        if (attachment.Layers.Count > 0)
        {
            model.MergeAdapters();
            Assert.True(attachment.IsMerged);
        }
        using var after = Trainer.Evaluate(model, data.Batches(model, CPU), batch: 40);
        var (changed, difference) = Evaluation.Differences(before, after);
        Assert.Equal(0, changed);
        Assert.True(difference < 1e-4, $"{method}: merged logits differ by {difference}");
        Assert.Equal(before.Accuracy, after.Accuracy);
        Assert.Equal(96, before.Count);
        Assert.Equal(before.Logits.argmax(1).eq(labels).sum().item<long>(), before.Correct);
        if (attachment.Layers.Count > 0)
        {
            model.UnmergeAdapters();
            using var unmerged = Trainer.Evaluate(model, data.Batches(model, CPU), batch: 40);
            Assert.True(Evaluation.Differences(before, unmerged).MaxDifference < 1e-4);
        }
    }

    [Fact]
    public void ReplaceHeadGivesANewTaskHeadAndKeepsTheBackbone()
    {
        using var model = Seeded(Small, 4);
        var embed = model.named_parameters().Single(p => p.name == "embed.weight").parameter.clone();
        model.ReplaceHead(7);
        Assert.Equal(7, model.Config.Classes);
        Assert.Equal(7, model.Head.out_features);
        Assert.Equal(new long[] { 5, 7 }, model.call(zeros(5, 1, 28, 28)).shape);
        Assert.Single(model.named_modules(), m => m.name == "head");
        Assert.Same(model.Head, model.named_modules().Single(m => m.name == "head").module);
        Assert.True(allclose(model.named_parameters().Single(p => p.name == "embed.weight").parameter, embed, rtol: 0, atol: 0));
        model.AttachAdapters();
        Assert.Throws<InvalidOperationException>(() => model.ReplaceHead(3));
    }
}
