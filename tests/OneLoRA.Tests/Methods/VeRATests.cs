using System;
using System.Linq;
using OneLoRA;
using OneLoRA.Methods.VeRA;
using Xunit;
using static OneLoRA.Tests.Methods.MethodCases;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>VeRA's shared projections: seeded, sized over all layers, sliced per layer, saved once.</summary>
public sealed class VeRATests
{
    private static (VeRAAdapter Fc1, VeRAAdapter Fc2) Attach(TinyNet model, long key, int rank = 2)
    {
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = "VeRA", ProjectionPrngKey = key, Rank = rank }));
        return ((VeRAAdapter)attachment["fc1"], (VeRAAdapter)attachment["fc2"]);
    }

    [Fact]
    public void Layers_of_different_shapes_share_one_pair_sized_to_the_largest()
    {
        using var model = new TinyNet(6, 10, 5);
        var (fc1, fc2) = Attach(model, 3, rank: 2);
        Assert.Same(fc1.Projections, fc2.Projections);
        Assert.Equal(new long[] { 2, 10 }, fc1.Projections.A.shape);   // Kmax = max(6, 10)
        Assert.Equal(new long[] { 10, 2 }, fc1.Projections.B.shape);   // Dmax = max(10, 5)
        var shared1 = fc1.SharedTensors().ToDictionary(t => t.Key, t => t.Tensor);
        var shared2 = fc2.SharedTensors().ToDictionary(t => t.Key, t => t.Tensor);
        Assert.Equal(["vera_A", "vera_B"], shared1.Keys.Order());
        Assert.Same(shared1["vera_A"], shared2["vera_A"]);
        Assert.Equal(["vera_lambda_b", "vera_lambda_d"], fc2.AdapterTensors().Select(t => t.Key).Order());
        // The projections are buffers of nobody: not parameters of the model, so never trained or saved per layer.
        Assert.DoesNotContain(model.named_parameters(), p => p.name.Contains("vera_A", StringComparison.Ordinal));
        Assert.Equal(2, model.named_parameters().Count(p => p.name.StartsWith("fc2_vera.", StringComparison.Ordinal)));
    }

    [Fact]
    public void Same_key_gives_identical_projections_and_a_different_key_different_ones()
    {
        using var a = new TinyNet(6, 10, 5);
        using var b = new TinyNet(6, 10, 5);
        using var c = new TinyNet(6, 10, 5);
        var pa = Attach(a, 42).Fc1.Projections;
        var pb = Attach(b, 42).Fc1.Projections;
        var pc = Attach(c, 43).Fc1.Projections;
        Assert.Equal(0.0, MaxAbs(pa.A, pb.A));
        Assert.Equal(0.0, MaxAbs(pa.B, pb.B));
        Assert.False(pa.A.allclose(pc.A));
        Assert.False(pa.B.allclose(pc.B));
    }

    [Fact]
    public void Projections_are_PEFT_kaiming_uniform_draws_A_first()
    {
        const int rank = 3;
        using var model = new TinyNet(6, 40, 5);
        var p = Attach(model, 5, rank).Fc1.Projections;   // Kmax = 40, Dmax = 40
        // PEFT: a CPU torch.Generator seeded with key; A = U(±√(6/Kmax)) of (r, Kmax); then B = U(±√(6/r)) of (Dmax, r).
        using var generator = new Generator(5, device: CPU);
        var a = empty(rank, 40, dtype: ScalarType.Float32).uniform_(-Math.Sqrt(6.0 / 40), Math.Sqrt(6.0 / 40), generator);
        var b = empty(40, rank, dtype: ScalarType.Float32).uniform_(-Math.Sqrt(6.0 / rank), Math.Sqrt(6.0 / rank), generator);
        Assert.Equal(0.0, MaxAbs(p.A, a));
        Assert.Equal(0.0, MaxAbs(p.B, b));
        Assert.True(p.A.abs().max().item<double>() <= Math.Sqrt(6.0 / 40));
        Assert.True(p.B.abs().max().item<double>() > 0.5 * Math.Sqrt(6.0 / rank));
    }

    [Fact]
    public void Lambdas_start_at_zero_and_d_initial()
    {
        using var model = new TinyNet(6, 10, 5);
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = "VeRA", Rank = 4, VeRADInitial = 0.25 }));
        var fc1 = (VeRAAdapter)attachment["fc1"];
        Assert.Equal(0.0, fc1.LambdaB.abs().max().item<double>());
        Assert.Equal(new long[] { 10 }, fc1.LambdaB.shape);
        Assert.True(fc1.LambdaD.eq(0.25).all().item<bool>());
        Assert.Equal(new long[] { 4 }, fc1.LambdaD.shape);
        var config = attachment.Method.ConfigEntries;
        Assert.Equal(0L, config["projection_prng_key"]);
        Assert.Equal(4, config["r"]);
        Assert.Equal(0.25, config["d_initial"]);
        Assert.Equal("VERA", attachment.Method.PeftType);
    }
}
