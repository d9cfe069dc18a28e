using System.Linq;
using OneLoRA.Methods.OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Core;

/// <summary>
/// 1LoRA adds b·(1ᵀx) into the base output in place, so a step holds no second output-sized tensor per layer
/// (tests/OneLoRA.Benchmarks --mode memory: graph bytes equal to a frozen block's). Values and gradients are checked
/// against managed float64 loops, including the gradient reaching the input (an upstream layer that trains).
/// </summary>
public sealed class OneLoRAInPlaceTests
{
    private const int K = 4, D = 3, N = 5;

    private static (Linear Layer, OneLoRAAdapter Adapter) Adapted(ulong seed)
    {
        using var generator = new Generator(seed, device: CPU);
        var layer = nn.Linear(K, D, dtype: ScalarType.Float64);
        var adapter = new OneLoRAAdapter(layer);
        using (no_grad())
        {
            foreach (var p in layer.parameters()) p.copy_(randn(p.shape, dtype: ScalarType.Float64, generator: generator));
            adapter.DecompressionVector.copy_(randn(D, dtype: ScalarType.Float64, generator: generator));
        }
        foreach (var p in layer.parameters()) p.requires_grad = false;
        return (layer, adapter);
    }

    private static double[] Values(Tensor t) => t.detach().contiguous().data<double>().ToArray();

    private static Tensor Noise(ulong seed, params long[] shape)
    {
        using var generator = new Generator(seed, device: CPU);
        return randn(shape, dtype: ScalarType.Float64, generator: generator);
    }

    [Fact]
    public void The_adapted_output_is_the_base_output_tensor_itself()
    {
        var (layer, adapter) = Adapted(1);
        var x = Noise(2, N, K);
        var y = layer.forward(x);
        var adapted = adapter.Adapt(layer, x, y);
        Assert.Same(y, adapted);
    }

    [Fact]
    public void Values_and_gradients_through_the_in_place_sum_equal_float64_loops()
    {
        var (layer, adapter) = Adapted(3);
        var x = Noise(4, N, K).requires_grad_(true);   // as if an upstream layer trained
        var c = Noise(5, N, D);                         // dL/dy

        var y = adapter.Adapt(layer, x, layer.forward(x));
        (y * c).sum().backward();

        double[] w = Values(layer.weight!), beta = Values(layer.bias!), b = Values(adapter.DecompressionVector), xs = Values(x), cs = Values(c);
        double[] ys = Values(y), gx = Values(x.grad!), gb = Values(adapter.DecompressionVector.grad!);
        for (int n = 0; n < N; n++)
        {
            double sum = 0;
            for (int j = 0; j < K; j++) sum += xs[n * K + j];
            for (int i = 0; i < D; i++)
            {
                double expected = beta[i] + b[i] * sum;
                for (int j = 0; j < K; j++) expected += w[i * K + j] * xs[n * K + j];
                Assert.Equal(expected, ys[n * D + i], 12);
            }
            for (int j = 0; j < K; j++)
            {
                double expected = 0;   // dL/dx_j = Σ_i c_i (W0[i, j] + b_i)
                for (int i = 0; i < D; i++) expected += cs[n * D + i] * (w[i * K + j] + b[i]);
                Assert.Equal(expected, gx[n * K + j], 12);
            }
        }
        for (int i = 0; i < D; i++)
        {
            double expected = 0;   // dL/db_i = Σ_n c_ni (1ᵀx_n)
            for (int n = 0; n < N; n++)
                for (int j = 0; j < K; j++) expected += cs[n * D + i] * xs[n * K + j];
            Assert.Equal(expected, gb[i], 12);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_3d_input_through_Adapt_or_AdaptFromInput_gives_float64_values_and_gradients(bool fromInput)
    {
        // AdaptFromInput (the generated interceptors' path) runs the base linear on the flattened input and updates that
        // 2-D output in place; Adapt updates a view of the 3-D base output. Both must give the same numbers.
        const int B = 2;
        var (layer, adapter) = Adapted(8);
        var x = Noise(9, B, N, K).requires_grad_(true);
        var c = Noise(10, B, N, D);

        var y = fromInput ? adapter.AdaptFromInput(layer, x) : adapter.Adapt(layer, x, layer.forward(x));
        Assert.Equal(new long[] { B, N, D }, y.shape);
        (y * c).sum().backward();

        double[] w = Values(layer.weight!), beta = Values(layer.bias!), b = Values(adapter.DecompressionVector), xs = Values(x), cs = Values(c);
        double[] ys = Values(y), gx = Values(x.grad!), gb = Values(adapter.DecompressionVector.grad!);
        var expectedGb = new double[D];
        for (int n = 0; n < B * N; n++)
        {
            double sum = 0;
            for (int j = 0; j < K; j++) sum += xs[n * K + j];
            for (int i = 0; i < D; i++)
            {
                double expected = beta[i] + b[i] * sum;
                for (int j = 0; j < K; j++) expected += w[i * K + j] * xs[n * K + j];
                Assert.Equal(expected, ys[n * D + i], 12);
                expectedGb[i] += cs[n * D + i] * sum;
            }
            for (int j = 0; j < K; j++)
            {
                double expected = 0;
                for (int i = 0; i < D; i++) expected += cs[n * D + i] * (w[i * K + j] + b[i]);
                Assert.Equal(expected, gx[n * K + j], 12);
            }
        }
        for (int i = 0; i < D; i++) Assert.Equal(expectedGb[i], gb[i], 12);
    }

    [Fact]
    public void AdaptFromInput_on_a_non_contiguous_input_gives_the_same_values()
    {
        var (layer, adapter) = Adapted(11);
        var x = Noise(12, 2, K, N).transpose(1, 2);   // [2, N, K], not contiguous
        Assert.False(x.is_contiguous());
        var expected = Values(adapter.Adapt(layer, x, layer.forward(x)));
        Assert.Equal(expected, Values(adapter.AdaptFromInput(layer, x)));
    }

    [Fact]
    public void A_non_contiguous_base_output_is_left_alone_and_the_result_is_right()
    {
        var (layer, adapter) = Adapted(6);
        var x = Noise(7, N, K);
        var baseOutput = layer.forward(x).t().contiguous().t();   // same values, column-major strides
        Assert.False(baseOutput.is_contiguous());
        var before = Values(baseOutput);

        var adapted = adapter.Adapt(layer, x, baseOutput);

        Assert.Equal(before, Values(baseOutput));
        double[] b = Values(adapter.DecompressionVector), xs = Values(x), ys = Values(adapted);
        for (int n = 0; n < N; n++)
        {
            double sum = xs.Skip(n * K).Take(K).Sum();
            for (int i = 0; i < D; i++) Assert.Equal(before[n * D + i] + b[i] * sum, ys[n * D + i], 12);
        }
    }
}
