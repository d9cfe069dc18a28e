using System.Linq;
using OneLoRA;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>Trainable parameters per layer against the paper's Table 1 (r = 1, r̂ = round(√d)).</summary>
public sealed class ParameterCountTests
{
    private static long TrainablePerLayer(string method, long k, long d, PeftOptions? options = null)
    {
        using var model = new SingleLinear(k, d, dtype: ScalarType.Float32);
        options ??= new PeftOptions();
        options.Method = method;
        var attachment = model.Attach(PeftMethods.Create(options));
        return attachment.TrainableParameters().Sum(p => p.numel());
    }

    [Theory]
    [InlineData(768, 768)]
    [InlineData(768, 3072)]
    public void Counts_match_table_1(long k, long d)
    {
        Assert.Equal(d, TrainablePerLayer("OneLoRA", k, d));
        Assert.Equal(k + d, TrainablePerLayer("LoRA", k, d));
        Assert.Equal(d + k + d, TrainablePerLayer("DoRA", k, d));
        Assert.Equal(1 + d, TrainablePerLayer("VeRA", k, d));
        Assert.Equal(d, TrainablePerLayer("BitFit", k, d));
        Assert.Equal(2 * d, TrainablePerLayer("DiffFit", k, d));
        Assert.Equal(k * d + d, TrainablePerLayer("Full", k, d));
        // Paper rule r̂ = round(√d): √768 = 27.71 → 28, √3072 = 55.43 → 55; type 6 takes the even 28 / 54.
        long rHat = d == 768 ? 28 : 55, rHat6 = d == 768 ? 28 : 54;
        Assert.Equal(rHat * rHat, TrainablePerLayer("MoRA1", k, d));
        Assert.Equal(rHat6 * rHat6, TrainablePerLayer("MoRA6", k, d));
        // Floor rule ⌊√d⌋: 27 / 55, type 6 26 / 54.
        long floor = d == 768 ? 27 : 55;
        Assert.Equal(floor * floor, TrainablePerLayer("MoRA1", k, d, new PeftOptions { MoRARankRule = MoRARankRule.Floor }));
        Assert.Equal((floor - 1) * (floor - 1), TrainablePerLayer("MoRA6", k, d, new PeftOptions { MoRARankRule = MoRARankRule.Floor }));
    }

    [Fact]
    public void Counts_scale_with_rank_and_combinations()
    {
        const long k = 768, d = 3072;
        Assert.Equal(4 * (k + d), TrainablePerLayer("LoRA", k, d, new PeftOptions { Rank = 4 }));
        Assert.Equal(d + 4 * (k + d), TrainablePerLayer("DoRA", k, d, new PeftOptions { Rank = 4 }));
        Assert.Equal(d + 16, TrainablePerLayer("VeRA", k, d, new PeftOptions { Rank = 16 }));
        // MoRA's own rule: round(√((k+d)·r)) = round(√3840) = 62.
        Assert.Equal(62 * 62, TrainablePerLayer("MoRA1", k, d, new PeftOptions { MoRARankRule = MoRARankRule.MoRA }));
        // TrainScale adds γ (d); TrainBiases adds the bias (d): "1LoRA (γ)" and "1LoRA (β)" have 2d.
        Assert.Equal(2 * d, TrainablePerLayer("OneLoRA", k, d, new PeftOptions { TrainScale = true }));
        Assert.Equal(2 * d, TrainablePerLayer("OneLoRA", k, d, new PeftOptions { TrainBiases = true }));
    }
}
