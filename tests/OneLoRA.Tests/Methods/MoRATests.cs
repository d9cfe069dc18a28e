using System;
using OneLoRA;
using OneLoRA.Methods.MoRA;
using Xunit;
using static OneLoRA.Tests.Methods.MethodCases;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>MoRA's shapes where its own code fails, checked column by column against the scalar reference.</summary>
public sealed class MoRATests
{
    [Theory]
    // r̂ > 2k (wrap-around pad longer than the input), n = 1
    [InlineData(1, 3, 20, 8)]
    [InlineData(6, 3, 20, 8)]
    // n = 1 with k < r̂ < 2k
    [InlineData(1, 5, 7, 6)]
    [InlineData(6, 5, 7, 6)]
    // d > n·r̂: type 6 tiles before truncating
    [InlineData(6, 4, 30, 4)]
    [InlineData(1, 4, 30, 4)]
    // k not a multiple of r̂
    [InlineData(1, 10, 12, 4)]
    [InlineData(6, 10, 12, 4)]
    [InlineData(6, 11, 5, 6)]
    // k a multiple of r̂, d < r̂
    [InlineData(1, 12, 3, 4)]
    [InlineData(6, 12, 8, 4)]
    public void Forward_and_merge_equal_the_reference_column_by_column(int type, long k, long d, long rHat)
    {
        using var g = TestRng.Create(81 + type);
        using var model = new SingleLinear(k, d, seed: 81 + type);
        var layer = model.Layer;
        using var adapter = new MoRAAdapter(layer, type, rHat);
        using (no_grad()) adapter.Matrix.copy_(randn(rHat, rHat, dtype: ScalarType.Float64, generator: g));
        var reference = MoRAReference.DeltaWeight(type, adapter.Matrix, k, d);
        var w0 = layer.weight!.detach().clone();

        var eye = TorchSharp.torch.eye(k, dtype: ScalarType.Float64);
        var columns = adapter.Forward(layer, eye) - layer.forward(eye);   // row j = ΔW·e_j
        for (int j = 0; j < k; j++)
            Assert.True(MaxAbs(columns[j], reference[.., j]) <= 1e-12, $"type {type}, k {k}, d {d}, r̂ {rHat}: column {j} off by {MaxAbs(columns[j], reference[.., j]):E2}");

        var x = randn(6, k, dtype: ScalarType.Float64, generator: g);
        var expected = x.mm((w0 + reference).t()) + layer.bias!;
        var adapted = adapter.Forward(layer, x);
        Assert.True(MaxAbs(adapted, expected) <= 1e-10);

        adapter.Merge(layer);
        var delta = layer.weight!.detach() - w0;
        for (int j = 0; j < k; j++)
            Assert.True(MaxAbs(delta[.., j], reference[.., j]) <= 1e-12, $"type {type}: merged column {j} off");
        Assert.True(MaxAbs(adapter.Forward(layer, x), adapted) <= 1e-10);
        adapter.Unmerge(layer);
        Assert.True(MaxAbs(layer.weight!, w0) <= 1e-12);
    }

    [Theory]
    [InlineData(768, 768, 1, MoRARankRule.Paper, 1, 28)]   // √768 = 27.71 → 28 (the paper's Table S9)
    [InlineData(768, 768, 6, MoRARankRule.Paper, 1, 28)]
    [InlineData(768, 3072, 1, MoRARankRule.Paper, 1, 55)]  // √3072 = 55.43 → 55
    [InlineData(768, 3072, 6, MoRARankRule.Paper, 1, 54)]  // → even 54
    [InlineData(3072, 768, 1, MoRARankRule.Paper, 1, 28)]
    [InlineData(5, 12, 1, MoRARankRule.Paper, 1, 3)]       // √12 = 3.46 → 3
    [InlineData(5, 13, 1, MoRARankRule.Paper, 1, 4)]       // √13 = 3.606 → 4: the first d that rounds up from 3
    [InlineData(5, 20, 1, MoRARankRule.Paper, 1, 4)]       // √20 = 4.47 → 4
    [InlineData(5, 21, 1, MoRARankRule.Paper, 1, 5)]       // √21 = 4.58 → 5
    [InlineData(5, 21, 6, MoRARankRule.Paper, 1, 4)]
    [InlineData(768, 768, 1, MoRARankRule.Floor, 1, 27)]
    [InlineData(768, 768, 6, MoRARankRule.Floor, 1, 26)]
    [InlineData(768, 3072, 1, MoRARankRule.Floor, 1, 55)]
    [InlineData(768, 3072, 6, MoRARankRule.Floor, 1, 54)]
    [InlineData(5, 20, 1, MoRARankRule.Floor, 1, 4)]
    [InlineData(768, 768, 1, MoRARankRule.MoRA, 8, 111)]   // √(1536·8) = 110.85 → 111
    [InlineData(768, 768, 6, MoRARankRule.MoRA, 8, 110)]
    [InlineData(4096, 4096, 1, MoRARankRule.MoRA, 8, 256)]
    [InlineData(5, 2, 6, MoRARankRule.Paper, 1, 2)]        // round(√2) = 1 → type 6 needs at least 2
    [InlineData(5, 2, 6, MoRARankRule.Floor, 1, 2)]
    [InlineData(5, 3, 1, MoRARankRule.Paper, 1, 2)]        // √3 = 1.73 → 2
    [InlineData(5, 3, 1, MoRARankRule.Floor, 1, 1)]
    [InlineData(5, 16, 1, MoRARankRule.Paper, 1, 4)]
    public void Rank_rules(long k, long d, int type, MoRARankRule rule, int rank, long expected) =>
        Assert.Equal(expected, MoRAAdapter.RankHatFor(k, d, type, rule, rank));

    [Fact]
    public void Invalid_type_names_the_option()
    {
        var e = Assert.Throws<ArgumentException>(() => PeftMethods.Create(new PeftOptions { Method = "MoRA", MoRAType = 3 }));
        Assert.StartsWith("MoRA: PeftOptions.MoRAType = 3", e.Message);
        Assert.Contains("3", e.Message);
        Assert.Throws<ArgumentException>(() => PeftMethods.Create(new PeftOptions { Method = "MoRA", MoRARankRule = (MoRARankRule)9 }));
    }

    [Fact]
    public void Registry_names_set_the_type()
    {
        var one = Assert.IsType<MoRAMethod>(PeftMethods.Create("mora1"));
        var six = Assert.IsType<MoRAMethod>(PeftMethods.Create(new PeftOptions { Method = "mora6", MoRAType = 1 }));
        Assert.Equal(1, one.Options.MoRAType);
        Assert.Equal(6, six.Options.MoRAType);
        Assert.Equal("MoRA6", six.Name);
        Assert.Equal(6, six.ConfigEntries["mora_type"]);
        Assert.Equal("MORA", six.PeftType);
    }

    [Fact]
    public void M_starts_at_zero_and_is_saved_as_mora_M()
    {
        using var model = new SingleLinear(10, 12);
        var adapter = Assert.IsType<MoRAAdapter>(model.Attach(PeftMethods.Create("MoRA6"))["lin"]);
        var (key, t) = Assert.Single(adapter.AdapterTensors());
        Assert.Equal("mora_M", key);
        Assert.Equal(new long[] { 2, 2 }, t.shape);   // ⌊√12⌋ = 3 → even 2
        Assert.Equal(0.0, t.abs().max().item<double>());
    }
}
