using System;
using System.Linq;
using OneLoRA;
using Xunit;
using static OneLoRA.Tests.Methods.MethodCases;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>Shared numeric contract of every method: zero start, forward = explicit ΔW, merge = forward, unmerge = W0.</summary>
public sealed class MethodNumericsTests
{
    [Theory]
    [MemberData(nameof(AllCases), MemberType = typeof(MethodCases))]
    public void Fresh_adapter_output_equals_base_output(string id)
    {
        manual_seed(11);
        using var model = new TinyNet(6, 10, 5);
        var x = randn(4, 3, 6, dtype: ScalarType.Float64);
        var before = model.forward(x).detach().clone();
        model.Attach(PeftMethods.Create(Options(id)));
        var after = model.forward(x);
        Assert.True(MaxAbs(after, before) <= 1e-12, $"{id}: fresh adapter changed the output by {MaxAbs(after, before):E2}");
    }

    [Theory]
    [MemberData(nameof(AllCases), MemberType = typeof(MethodCases))]
    public void Adapted_forward_equals_explicit_delta_weight_and_merge_equals_forward(string id)
    {
        foreach (var bias in new[] { true, false })
        {
            manual_seed(bias ? 21 : 22);
            using var model = new SingleLinear(7, 9, bias);
            var w0 = model.Layer.weight!.detach().clone();
            var b0 = model.Layer.bias?.detach().clone();
            var attachment = model.Attach(PeftMethods.Create(Options(id)));
            var adapter = attachment["lin"];
            Perturb(adapter);
            var x = randn(5, 7, dtype: ScalarType.Float64);

            var (w, b) = ExpectedWeights(adapter, w0, b0);
            var expected = b is null ? x.mm(w.t()) : x.mm(w.t()) + b;
            var adapted = model.forward(x).detach().clone();
            Assert.True(MaxAbs(adapted, expected) <= 1e-10, $"{id} (bias {bias}): forward vs explicit ΔW differ by {MaxAbs(adapted, expected):E2}");

            attachment.Merge();
            Assert.True(MaxAbs(model.Layer.weight!, w) <= 1e-10, $"{id}: merged weight differs from W0 + ΔW by {MaxAbs(model.Layer.weight!, w):E2}");
            if (b is not null && model.Layer.bias is { } mergedBias)
                Assert.True(MaxAbs(mergedBias, b) <= 1e-10, $"{id}: merged bias differs by {MaxAbs(mergedBias, b):E2}");
            var merged = model.forward(x);
            Assert.True(MaxAbs(merged, adapted) <= 1e-10, $"{id}: merged forward differs from adapted forward by {MaxAbs(merged, adapted):E2}");

            attachment.Unmerge();
            Assert.True(MaxAbs(model.Layer.weight!, w0) <= 1e-12, $"{id}: unmerge left W off by {MaxAbs(model.Layer.weight!, w0):E2}");
            if (b0 is null) Assert.Null(model.Layer.bias);
            else Assert.True(MaxAbs(model.Layer.bias!, b0) <= 1e-12, $"{id}: unmerge left β off");
            Assert.True(MaxAbs(model.forward(x), adapted) <= 1e-10, $"{id}: forward after unmerge changed");
        }
    }

    [Theory]
    [MemberData(nameof(AllCases), MemberType = typeof(MethodCases))]
    public void Merge_then_unmerge_restores_float32_weights_within_1e6_relative(string id)
    {
        manual_seed(31);
        using var model = new TinyNet(24, 40, 16, ScalarType.Float32);
        var originals = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var attachment = model.Attach(PeftMethods.Create(Options(id)));
        foreach (var l in attachment.Layers) Perturb(l.Adapter);
        var x = randn(8, 24);
        var adapted = model.forward(x).detach().clone();
        attachment.Merge();
        var merged = model.forward(x).detach().clone();
        Assert.True(RelDiff(merged, adapted) <= 1e-5, $"{id}: float32 merged forward off by {RelDiff(merged, adapted):E2} relative");
        attachment.Unmerge();
        foreach (var (name, original) in originals)
        {
            var now = model.named_parameters().Single(p => p.name == name).parameter;
            Assert.True(RelDiff(now, original) <= 1e-6, $"{id}: '{name}' restored only to {RelDiff(now, original):E2} relative");
        }
        Assert.Null(model.Fc2.bias);
    }

    [Theory]
    [MemberData(nameof(AllCases), MemberType = typeof(MethodCases))]
    public void Bfloat16_merge_is_computed_wide_and_rounded_once_per_step(string id)
    {
        manual_seed(35);
        using var model = new SingleLinear(48, 40, dtype: ScalarType.BFloat16);
        var w0 = model.Layer.weight!.detach().clone();
        var b0 = model.Layer.bias!.detach().clone();
        var attachment = model.Attach(PeftMethods.Create(Options(id)));
        Perturb(attachment["lin"]);
        var (w, _) = ExpectedWeights(attachment["lin"], w0, b0);
        attachment.Merge();
        // One rounding to bf16 costs at most u = 2^-8 relative; TrainScale rounds twice (the inner merge, then γ).
        double roundings = id.EndsWith("+scale", StringComparison.Ordinal) ? 2 : 1;
        var error = (model.Layer.weight!.to(ScalarType.Float64) - w).abs();
        var allowed = w.abs().mul(roundings / 256).add(1e-30);
        Assert.True(error.le(allowed).all().item<bool>(), $"{id}: bf16 merge off by up to {error.div(w.abs().add(1e-30)).max().item<double>():E2} relative");
    }

    [Theory]
    [MemberData(nameof(AllCases), MemberType = typeof(MethodCases))]
    public void Disabled_adapter_gives_the_base_output(string id)
    {
        manual_seed(41);
        using var model = new TinyNet(6, 10, 5);
        var x = randn(3, 6, dtype: ScalarType.Float64);
        var before = model.forward(x).detach().clone();
        var attachment = model.Attach(PeftMethods.Create(Options(id)));
        foreach (var l in attachment.Layers) { Perturb(l.Adapter); l.Adapter.Enabled = false; }
        Assert.True(MaxAbs(model.forward(x), before) <= 1e-12, $"{id}: disabled adapters still change the output");
    }
}
