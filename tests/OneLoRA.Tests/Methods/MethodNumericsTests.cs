using System;
using System.Linq;
using OneLoRA;
using OneLoRA.Methods.DiffFit;
using OneLoRA.Methods.DoRA;
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
        using var g = TestRng.Create(11);
        using var model = new TinyNet(6, 10, 5, seed: 11);
        var x = randn(4, 3, 6, dtype: ScalarType.Float64, generator: g);
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
            using var g = TestRng.Create(bias ? 21 : 22);
            using var model = new SingleLinear(7, 9, bias, seed: bias ? 21 : 22);
            var w0 = model.Layer.weight!.detach().clone();
            var b0 = model.Layer.bias?.detach().clone();
            var attachment = model.Attach(PeftMethods.Create(Options(id)));
            var adapter = attachment["lin"];
            Perturb(adapter, g);
            var x = randn(5, 7, dtype: ScalarType.Float64, generator: g);

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
    public void Merge_then_unmerge_restores_float32_weights_within_their_rounding_bound(string id)
    {
        // Float32 unit roundoff u = 2⁻²⁴. Per element, with V = W0 + ΔW the weight before any row scaling: the merge's
        // fl(W0 + ΔW) errs by u|V|; each row scaling (DoRA's m/‖V‖, DiffFit's γ, TrainScale's γ) and its undo by u|V|
        // each; unmerge's final fl(V − ΔW) by u|W0|. The worst case, DoRA with TrainScale, is 5u|V| + u|W0| (the 1e-3
        // covers second-order terms). The bound follows |V|, not |W0|: when s·B·A outweighs W0, recovering W0 from
        // W0 + ΔW − ΔW cancels and no float32 unmerge (PEFT's neither) can do better without keeping a copy of W0.
        // That is why a fixed 1e-6 relative to max|W0| failed now and then for DoRA-r2 (s = 1.5): with seeds 1, 42 and
        // 227 it is off by 1.13e-6, 1.04e-6 and 1.04e-6 of max|W0| (measured), inside this bound.
        const double u = 1.0 / (1 << 24);
        foreach (long seed in new long[] { 1, 31, 42, 227 })
        {
            using var g = TestRng.Create(seed);
            using var model = new TinyNet(24, 40, 16, ScalarType.Float32, seed: seed);
            var originals = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
            var attachment = model.Attach(PeftMethods.Create(Options(id)));
            foreach (var l in attachment.Layers) Perturb(l.Adapter, g);
            var unscaled = attachment.Layers.ToDictionary(l => $"{l.Path}.weight", l => PreScaleWeight(l.Adapter, originals[$"{l.Path}.weight"]));
            var x = randn(8, 24, generator: g);
            var adapted = model.forward(x).detach().clone();
            attachment.Merge();
            var merged = model.forward(x).detach().clone();
            Assert.True(RelDiff(merged, adapted) <= 1e-5, $"{id}: float32 merged forward off by {RelDiff(merged, adapted):E2} relative");
            attachment.Unmerge();
            foreach (var (name, original) in originals)
            {
                var now = model.named_parameters().Single(p => p.name == name).parameter.to(ScalarType.Float64);
                var w0 = original.to(ScalarType.Float64);
                var v = unscaled.TryGetValue(name, out var pre) ? pre.abs() : w0.abs();
                var allowed = (5 * v + w0.abs()) * (u * (1 + 1e-3));
                var error = (now - w0).abs();
                Assert.True(error.le(allowed).all().item<bool>(),
                    $"{id} (seed {seed}): '{name}' restored off by {MaxAbs(now, w0):E2}, above the rounding bound (max {(error - allowed).max().item<double>():E2} over it)");
            }
            Assert.Null(model.Fc2.bias);
        }
    }

    /// <summary>W0 + ΔW before the method's row scalings, in float64 (see the bound above).</summary>
    private static Tensor PreScaleWeight(LinearAdapter adapter, Tensor w0) => adapter switch
    {
        ScaledAdapter s => PreScaleWeight(s.Inner, w0),
        DoRAAdapter d => w0.to(ScalarType.Float64) + d.Scaling * d.LoraB.detach().to(ScalarType.Float64).mm(d.LoraA.detach().to(ScalarType.Float64)),
        DiffFitAdapter => w0.to(ScalarType.Float64),
        _ => ExpectedWeights(adapter, w0, null).Weight,
    };

    [Theory]
    [MemberData(nameof(AllCases), MemberType = typeof(MethodCases))]
    public void Bfloat16_merge_is_computed_wide_and_rounded_once_per_step(string id)
    {
        using var g = TestRng.Create(35);
        using var model = new SingleLinear(48, 40, dtype: ScalarType.BFloat16, seed: 35);
        var w0 = model.Layer.weight!.detach().clone();
        var b0 = model.Layer.bias!.detach().clone();
        var attachment = model.Attach(PeftMethods.Create(Options(id)));
        Perturb(attachment["lin"], g);
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
        using var g = TestRng.Create(41);
        using var model = new TinyNet(6, 10, 5, seed: 41);
        var x = randn(3, 6, dtype: ScalarType.Float64, generator: g);
        var before = model.forward(x).detach().clone();
        var attachment = model.Attach(PeftMethods.Create(Options(id)));
        foreach (var l in attachment.Layers) { Perturb(l.Adapter, g); l.Adapter.Enabled = false; }
        Assert.True(MaxAbs(model.forward(x), before) <= 1e-12, $"{id}: disabled adapters still change the output");
    }
}
