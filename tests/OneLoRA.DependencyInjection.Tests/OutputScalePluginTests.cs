using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OneLoRA.Samples.PluginMethod;
using Xunit;
using static TorchSharp.torch;
using OneLoRA.Tests;

namespace OneLoRA.DependencyInjection.Tests;

/// <summary>The sample plugin (samples/PluginMethod) selected by configuration, checked against explicit float64 math.</summary>
public sealed class OutputScalePluginTests
{
    private readonly Generator g = TestRng.Create(31);

    private static (PeftAttachment Attachment, PlainNet Net, ServiceProvider Provider) Attach(int seed, string targets)
    {
        var name = $"OutputScale-{Guid.NewGuid():N}";
        var provider = Containers.Build(Containers.Section(("Method", name), ("Targets", targets)),
            s => s.AddPeftMethod<OutputScaleMethod>(name));
        provider.GetRequiredService<IStartupValidator>().Validate();
        var net = new PlainNet(seed);
        return (provider.GetRequiredService<IPeftAttacher>().AttachRuntime(net), net, provider);
    }

    [Fact]
    public void Adapted_output_is_the_base_output_scaled_per_feature()
    {
        var (attachment, net, provider) = Attach(11, "head");
        using var _ = provider;
        using var __ = net;
        var adapter = Assert.IsType<OutputScaleAdapter>(Assert.Single(attachment.Layers).Adapter);
        Assert.Equal(["head_output_scale.l"], net.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name));

        using var x = randn(4, 8, generator: g);
        using var before = net.head.call(x);
        using (no_grad()) adapter.L.copy_(tensor(new float[] { 0.5f, -2f, 3f }));
        using var actual = net.head.call(x);

        var w = net.head.weight!.detach().to(float64);
        var bias = net.head.bias!.detach().to(float64);
        var expected = (matmul(x.to(float64), w.t()) + bias) * tensor(new double[] { 0.5, -2, 3 });
        Assert.True(expected.allclose(actual.to(float64), rtol: 1e-6, atol: 1e-6));
        // l starts at ones: before training the adapted layer is the base layer.
        Assert.True(before.allclose(net.head.forward(x), rtol: 0, atol: 0));
    }

    [Fact]
    public void Merge_scales_the_rows_and_unmerge_restores_them()
    {
        var (attachment, net, provider) = Attach(12, "Linear");
        using var _ = provider;
        using var __ = net;
        var weights = net.named_parameters().Where(p => !p.name.Contains("output_scale")).ToDictionary(p => p.name, p => p.parameter.detach().clone());
        Assert.Equal(10, weights.Count);
        using (no_grad())
            foreach (var l in attachment.Layers) ((OutputScaleAdapter)l.Adapter).L.copy_(rand(l.Adapter.OutFeatures, generator: g) + 0.5);
        using var x = randn(5, 6, generator: g);
        using var unmerged = net.call(x);

        attachment.Merge();
        using var merged = net.call(x);
        Assert.True(merged.allclose(unmerged, rtol: 1e-5, atol: 1e-5));
        var scale = ((OutputScaleAdapter)attachment["head"]).L.detach().to(float64);
        var expectedHead = weights["head.weight"].to(float64) * scale.unsqueeze(1);
        Assert.True(expectedHead.allclose(net.head.weight!.to(float64), rtol: 1e-6, atol: 1e-6));

        attachment.Unmerge();
        foreach (var (name, before) in weights)
            Assert.True(before.allclose(net.get_parameter(name)!, rtol: 1e-6, atol: 1e-6), $"{name} not restored");
    }

    [Fact]
    public void Training_the_plugin_lowers_the_loss()
    {
        var (_, net, provider) = Attach(13, "*");
        using var __ = provider;
        using var ___ = net;
        using var x = randn(64, 6, generator: g);
        using var target = randn(64, 3, generator: g);
        using var optimizer = optim.AdamW(net.TrainableParameters(), lr: 0.05);
        var losses = new List<float>();
        for (int step = 0; step < 30; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(net.call(x), target);
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        Assert.True(losses[^1] < 0.9f * losses[0], $"loss {losses[0]} -> {losses[^1]}");
    }
}
