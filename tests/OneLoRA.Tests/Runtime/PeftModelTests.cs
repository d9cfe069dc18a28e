using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Methods.OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Runtime;

/// <summary>A model nobody annotated: Linear fields and a Sequential, invoked through call() as third-party code does.</summary>
internal sealed class ThirdPartyNet : nn.Module<Tensor, Tensor>
{
    public readonly Linear input;
    public readonly Sequential body;
    public readonly LayerNorm norm;
    public readonly Linear head;

    public ThirdPartyNet() : base(nameof(ThirdPartyNet))
    {
        input = nn.Linear(6, 8);
        body = nn.Sequential(("hidden", nn.Linear(8, 8)), ("act", nn.Tanh()), ("proj", nn.Linear(8, 8)));
        norm = nn.LayerNorm(8);
        head = nn.Linear(8, 3);
        RegisterComponents();
    }

    public Linear Hidden => (Linear)body[0];
    public Linear Proj => (Linear)body[2];

    public override Tensor forward(Tensor x) => head.call(norm.call(body.call(input.call(x))));
}

public sealed class PeftModelTests
{
    private readonly Generator g = TestRng.Create(19);

    static PeftModelTests() => TorchRuntime.EnsureLoaded();

    private static ThirdPartyNet NewNet(int seed)
    {
        return new ThirdPartyNet().Init(seed);
    }

    private static string[] Paths(IEnumerable<TargetLayer> layers) => layers.Select(l => l.Path).ToArray();

    private static string[] Sorted(IEnumerable<string> paths) => paths.Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Select_lists_every_linear_path_in_module_order()
    {
        using var net = NewNet(1);
        var s = PeftModel.Select(net, "*");
        var moduleOrder = net.named_modules().Where(m => m.module is Linear).Select(m => m.name).ToArray();
        Assert.Equal(["body.hidden", "body.proj", "head", "input"], moduleOrder.Order());
        Assert.Equal(moduleOrder, s.LinearPaths);
        Assert.Equal(moduleOrder, Paths(s.Layers));
        Assert.Same(net.Hidden, s.Layers.Single(l => l.Path == "body.hidden").Layer);
        Assert.Empty(s.Warnings);
    }

    [Theory]
    [InlineData("hidden", "", new[] { "body.hidden" })]                       // last path segment
    [InlineData("body.*", "", new[] { "body.hidden", "body.proj" })]          // dotted path
    [InlineData("Linear", "head;inp*", new[] { "body.hidden", "body.proj" })] // type name, minus excludes
    [InlineData("*.proj; input", "", new[] { "input", "body.proj" })]
    [InlineData("*", "body.*", new[] { "input", "head" })]
    public void Select_matches_path_last_segment_and_type_name(string targets, string exclude, string[] expected)
    {
        using var net = NewNet(1);
        Assert.Equal(Sorted(expected), Sorted(Paths(PeftModel.Select(net, targets, exclude).Layers)));
    }

    [Fact]
    public void Patterns_that_match_nothing_are_reported()
    {
        using var net = NewNet(1);
        var s = PeftModel.Select(net, "hidden;q_proj", "nothere;head");
        Assert.Equal(["body.hidden"], Paths(s.Layers));
        Assert.Equal(["q_proj"], s.UnmatchedTargets);
        // 'head' matches a Linear but not one the targets selected, so it excluded nothing either.
        Assert.Equal(["nothere", "head"], s.UnmatchedExcludes);
        Assert.Equal(
            ["Target pattern 'q_proj' matched no Linear layer.", "Exclude pattern 'nothere' matched no targeted layer.", "Exclude pattern 'head' matched no targeted layer."],
            s.Warnings);
    }

    [Fact]
    public void Zero_matches_throws_naming_the_patterns_and_the_linear_paths()
    {
        using var net = NewNet(1);
        var e = Assert.Throws<InvalidOperationException>(() => PeftModel.Attach(net, new OneLoRAMethod(), "q_proj;v_proj", "x"));
        Assert.Contains("'q_proj;v_proj'", e.Message);
        Assert.Contains("Exclude 'x'", e.Message);
        Assert.Contains("Linear layers in the model: ", e.Message);
        Assert.All(new[] { "input", "body.hidden", "body.proj", "head" }, p => Assert.Contains(p, e.Message));
        Assert.Null(Peft.AttachmentFor(net));
        Assert.All(net.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Attach_adapts_exactly_the_selected_layers_and_freezes_the_rest()
    {
        using var net = NewNet(2);
        var attachment = PeftModel.Attach(net, new OneLoRAMethod(), "body.*;head", "proj");
        Assert.Equal(["body.hidden", "head"], Sorted(attachment.Layers.Select(l => l.Path)));
        Assert.NotNull(Peft.AdapterFor(net.Hidden));
        Assert.NotNull(Peft.AdapterFor(net.head));
        Assert.Null(Peft.AdapterFor(net.Proj));
        Assert.Null(Peft.AdapterFor(net.input));
        Assert.Same(attachment, net.Adapters());

        var trainable = net.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToArray();
        Assert.Equal(["body_hidden_onelora.b", "head_onelora.b"], Sorted(trainable));
        Assert.Equal(8 + 3, net.ParameterReport().Trainable);
    }

    [Fact]
    public void Attach_by_options_uses_the_named_method_and_its_globs()
    {
        using var net = NewNet(3);
        var attachment = PeftModel.Attach(net, new PeftOptions { Method = "1lora", Targets = "Linear", Exclude = "head" });
        Assert.IsType<OneLoRAMethod>(attachment.Method);
        Assert.Equal(["body.hidden", "body.proj", "input"], Sorted(attachment.Layers.Select(l => l.Path)));
        var unknown = Assert.Throws<ArgumentException>(() => PeftModel.Attach(NewNet(3), new PeftOptions { Method = "nosuch" }));
        Assert.Contains("nosuch", unknown.Message);
    }

    [Fact]
    public void Adapted_forward_equals_an_explicit_delta_w_computation_in_float64()
    {
        using var net = NewNet(4);
        var attachment = PeftModel.Attach(net, new OneLoRAMethod(), "hidden;head");
        var b = new Dictionary<string, Tensor>();
        using (no_grad())
        {
            foreach (var l in attachment.Layers)
            {
                var adapter = (OneLoRAAdapter)l.Adapter;
                adapter.DecompressionVector.copy_(randn(adapter.OutFeatures, generator: g));
                b[l.Path] = adapter.DecompressionVector.detach().to(float64);
            }
        }
        using var x = randn(5, 6, generator: g);
        using var actual = net.call(x);

        // Reference: every layer by hand in float64, adapted layers with W0 + b·1ᵀ built explicitly.
        Tensor Dense(Linear layer, string path, Tensor h)
        {
            var w = layer.weight!.detach().to(float64);
            if (b.TryGetValue(path, out var bv)) w = w + outer(bv, ones(layer.in_features, dtype: float64));
            return matmul(h, w.t()) + layer.bias!.detach().to(float64);
        }
        using var scope = NewDisposeScope();
        var h = Dense(net.input, "input", x.to(float64));
        h = Dense(net.Proj, "body.proj", tanh(Dense(net.Hidden, "body.hidden", h)));
        var mean = h.mean([-1], keepdim: true);
        var variance = (h - mean).pow(2).mean([-1], keepdim: true);
        h = (h - mean) / sqrt(variance + 1e-5) * net.norm.weight!.detach().to(float64) + net.norm.bias!.detach().to(float64);
        var expected = Dense(net.head, "head", h);

        Assert.True(expected.allclose(actual.to(float64), rtol: 1e-5, atol: 1e-5),
            $"max |diff| = {(expected - actual.to(float64)).abs().max().item<double>()}");
        // The adapters really contribute: the base model's output differs.
        attachment.Layers.ToList().ForEach(l => l.Adapter.Enabled = false);
        using var baseOut = net.call(x);
        Assert.False(baseOut.allclose(actual, rtol: 1e-3, atol: 1e-3));
    }

    [Fact]
    public void Forward_bypasses_runtime_attached_adapters_call_does_not()
    {
        using var net = NewNet(5);
        var attachment = PeftModel.Attach(net, new OneLoRAMethod(), "head");
        using (no_grad()) ((OneLoRAAdapter)attachment["head"]).DecompressionVector.fill_(1.0);
        using var x = randn(2, 8, generator: g);
        using var viaForward = net.head.forward(x);
        using var viaCall = net.head.call(x);
        // 1LoRA adds b·sum(x) to every output; forward() skips the hook, call() runs it.
        using var expectedDelta = x.sum(-1, keepdim: true).expand(2, 3);
        Assert.True((viaCall - viaForward).allclose(expectedDelta, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Training_decreases_the_loss_and_touches_only_adapter_parameters()
    {
        using var net = NewNet(6);
        var frozen = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var attachment = PeftModel.Attach(net, new OneLoRAMethod(), "Linear");
        using var x = randn(64, 6, generator: g);
        using var target = randn(64, 3, generator: g);
        using var optimizer = optim.AdamW(net.TrainableParameters(), lr: 0.05);

        var losses = new List<double>();
        for (int step = 0; step < 40; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(net.call(x), target);
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        Assert.True(losses[^1] < 0.8 * losses[0], $"loss {losses[0]} -> {losses[^1]}");
        foreach (var (name, before) in frozen)
            Assert.True(before.allclose(net.get_parameter(name)!, rtol: 0, atol: 0), $"base parameter {name} changed");
        Assert.All(attachment.Layers, l => Assert.True(((OneLoRAAdapter)l.Adapter).DecompressionVector.abs().sum().item<float>() > 0));
    }

    [Fact]
    public void Merged_output_equals_unmerged_and_unmerge_restores_the_weights()
    {
        using var net = NewNet(7);
        var weights = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var attachment = PeftModel.Attach(net, new OneLoRAMethod(), "*", "input");
        using (no_grad())
            foreach (var l in attachment.Layers) ((OneLoRAAdapter)l.Adapter).DecompressionVector.copy_(randn(l.Adapter.OutFeatures, generator: g));
        using var x = randn(4, 6, generator: g);
        using var unmerged = net.call(x);

        attachment.Merge();
        Assert.True(attachment.IsMerged);
        using var merged = net.call(x);
        Assert.True(merged.allclose(unmerged, rtol: 1e-5, atol: 1e-5), $"max |diff| = {(merged - unmerged).abs().max().item<float>()}");
        Assert.False(net.Hidden.weight!.allclose(weights["body.hidden.weight"]));

        attachment.Unmerge();
        foreach (var (name, before) in weights)
            Assert.True(before.allclose(net.get_parameter(name)!, rtol: 0, atol: 1e-6), $"{name} not restored");
        using var again = net.call(x);
        Assert.True(again.allclose(unmerged, rtol: 1e-5, atol: 1e-5));
    }
}
