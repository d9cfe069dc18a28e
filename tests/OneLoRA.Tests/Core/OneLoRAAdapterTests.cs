using System;
using System.Linq;
using OneLoRA.Methods.OneLoRA;
using TorchSharp;
using Xunit;
using static OneLoRA.Tests.Core.TestModels;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Core;

/// <summary>1LoRA numerics against independent computations (managed float64 loops, explicit ΔW).</summary>
public sealed class OneLoRAAdapterTests
{
    private readonly Generator g = TestRng.Create(17);

    private const int K = 5, D = 3;

    private static (OneLayer Model, OneLoRAAdapter Adapter) Attached(int k = K, int d = D, bool bias = true, ScalarType dtype = ScalarType.Float64, PeftOptions? options = null)
    {
        var model = new OneLayer(Layer(k, d, bias, dtype));
        var attachment = Peft.Attach(model, [new TargetLayer("fc", model.fc)], new OneLoRAMethod(options ?? new PeftOptions()));
        return (model, (OneLoRAAdapter)attachment.Layers.Single().Adapter);
    }

    [Fact]
    public void Forward_equals_W0x_plus_bias_plus_b_times_feature_sum()
    {
        var (model, adapter) = Attached();
        Set(adapter.DecompressionVector, tensor(new[] { 0.5, -1.25, 2.0 }, dtype: ScalarType.Float64));
        using var g = TestRng.Create(3);
        var x = randn(4, K, dtype: ScalarType.Float64, generator: g);

        var y = Values(model.forward(x));

        var w = Values(model.fc.weight!); var beta = Values(model.fc.bias!); var b = Values(adapter.DecompressionVector); var xs = Values(x);
        for (int n = 0; n < 4; n++)
            for (int i = 0; i < D; i++)
            {
                double expected = beta[i];
                for (int j = 0; j < K; j++) expected += (w[i * K + j] + b[i]) * xs[n * K + j];   // (W0 + b·1ᵀ)x + β
                Assert.Equal(expected, y[n * D + i], 12);
            }
    }

    [Fact]
    public void Fresh_adapter_leaves_the_model_unchanged()
    {
        var (model, adapter) = Attached();
        Assert.All(Values(adapter.DecompressionVector), v => Assert.Equal(0.0, v));
        var x = randn(2, K, dtype: ScalarType.Float64, generator: g);
        Assert.Equal(Values(model.fc.forward(x)), Values(model.forward(x)));
    }

    [Fact]
    public void Gradient_of_b_is_the_sum_over_tokens_of_feature_sum_times_upstream_gradient()
    {
        var (model, adapter) = Attached();
        using var g = TestRng.Create(5);
        var x = randn(2, 3, K, dtype: ScalarType.Float64, generator: g);       // batch × tokens × features
        var upstream = randn(2, 3, D, dtype: ScalarType.Float64, generator: g);       // dL/dy

        (model.forward(x) * upstream).sum().backward();

        var xs = Values(x); var gs = Values(upstream); var grad = Values(adapter.DecompressionVector.grad!);
        for (int i = 0; i < D; i++)
        {
            double expected = 0;
            for (int t = 0; t < 6; t++)
            {
                double featureSum = 0;
                for (int j = 0; j < K; j++) featureSum += xs[t * K + j];
                expected += featureSum * gs[t * D + i];
            }
            Assert.Equal(expected, grad[i], 12);
        }
    }

    [Fact]
    public void Only_b_receives_gradients()
    {
        var (model, adapter) = Attached();
        model.forward(randn(4, K, dtype: ScalarType.Float64, generator: g)).pow(2).sum().backward();

        Assert.NotNull(adapter.DecompressionVector.grad);
        Assert.False(model.fc.weight!.requires_grad);
        Assert.False(model.fc.bias!.requires_grad);
        Assert.Null(model.fc.weight.grad);
        Assert.Null(model.fc.bias.grad);
        Assert.Equal([adapter.DecompressionVector.Handle], model.TrainableParameters().Select(p => p.Handle));
    }

    [Fact]
    public void Merged_forward_equals_unmerged_forward()
    {
        var (model, adapter) = Attached(64, 32, dtype: ScalarType.Float32);
        Set(adapter.DecompressionVector, randn(32, generator: g));
        var x = randn(8, 64, generator: g);
        var unmerged = Values(model.forward(x));

        model.Adapters().Merge();

        Assert.True(adapter.IsMerged);
        var merged = Values(model.forward(x));            // interceptor path: base layer with merged weights
        var direct = Values(model.fc.forward(x));
        Assert.Equal(merged, direct);
        var scale = unmerged.Max(Math.Abs);
        Assert.All(merged.Zip(unmerged), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-5 * scale, $"{p.First} vs {p.Second}"));
    }

    [Fact]
    public void Merge_adds_b_to_every_entry_of_its_row_and_unmerge_restores_W0()
    {
        var (model, adapter) = Attached(64, 32, dtype: ScalarType.Float32);
        Set(adapter.DecompressionVector, randn(32, generator: g));
        var w0 = Values(model.fc.weight!);
        var b = Values(adapter.DecompressionVector);

        model.Adapters().Merge();
        var wm = Values(model.fc.weight!);
        for (int i = 0; i < 32; i++)
            for (int j = 0; j < 64; j++)
                Assert.Equal(w0[i * 64 + j] + b[i], wm[i * 64 + j], 1e-6);

        model.Adapters().Unmerge();
        var restored = Values(model.fc.weight!);
        var maxRelative = w0.Zip(restored).Max(p => Math.Abs(p.First - p.Second)) / w0.Max(Math.Abs);
        Assert.True(maxRelative <= 1e-6, $"max relative error {maxRelative}");
        Assert.False(adapter.IsMerged);
    }

    [Fact]
    public void Merge_of_a_bfloat16_layer_is_computed_in_float32()
    {
        var (model, adapter) = Attached(16, 8, dtype: ScalarType.BFloat16);
        Set(adapter.DecompressionVector, randn(8, dtype: ScalarType.BFloat16, generator: g));
        var expected = (model.fc.weight!.to(ScalarType.Float32) + adapter.DecompressionVector.to(ScalarType.Float32).unsqueeze(1)).to(ScalarType.BFloat16);

        model.Adapters().Merge();

        Assert.Equal(Values(expected), Values(model.fc.weight!));
    }

    [Fact]
    public void Double_merge_and_unmerge_without_merge_are_refused_with_the_layer_named()
    {
        var (model, adapter) = Attached();
        var e1 = Assert.Throws<InvalidOperationException>(() => adapter.Unmerge(model.fc));
        Assert.Contains("'fc'", e1.Message);
        adapter.Merge(model.fc);
        var e2 = Assert.Throws<InvalidOperationException>(() => adapter.Merge(model.fc));
        Assert.Contains("already merged", e2.Message);
        Assert.Contains("'fc'", e2.Message);
    }

    [Fact]
    public void Call_path_runs_hooks_and_the_adapter_once()
    {
        var (model, adapter) = Attached();
        Set(adapter.DecompressionVector, tensor(new[] { 1.0, 2.0, 3.0 }, dtype: ScalarType.Float64));
        var x = randn(2, K, dtype: ScalarType.Float64, generator: g);
        var expected = Values(model.forward(x));                   // forward interceptor path
        Tensor? seenByUserHook = null;
        model.fc.register_forward_hook((_, _, output) => { seenByUserHook = output.detach().clone(); return output; });

        var viaCall = Values(PeftRuntime.Call(model.fc, x));

        Assert.Equal(expected, viaCall);
        Assert.Equal(expected, Values(seenByUserHook!));           // user hooks see the adapted output

        adapter.Enabled = false;
        Assert.Equal(Values(model.fc.forward(x)), Values(PeftRuntime.Call(model.fc, x)));
    }

    [Fact]
    public void Adapter_parameters_are_registered_under_the_layer()
    {
        var (model, _) = Attached();
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("fc_onelora.b", names);
        Assert.Contains("fc_onelora.b", model.state_dict().Keys);
    }

    [Fact]
    public void Feature_sum_follows_to_and_saves_nothing_beyond_b()
    {
        var (model, adapter) = Attached(dtype: ScalarType.Float32);
        Set(adapter.DecompressionVector, tensor(new[] { 0.5f, -1.25f, 2.0f }));
        var x32 = randn(2, K, generator: g);
        model.forward(x32);                                    // makes the float32 ones vector
        Assert.Equal(["fc.weight", "fc.bias", "fc_onelora.b"], model.state_dict().Keys);

        model.to(ScalarType.Float64);

        var x = randn(2, K, dtype: ScalarType.Float64, generator: g);
        var w = Values(model.fc.weight!); var beta = Values(model.fc.bias!); var b = Values(adapter.DecompressionVector); var xs = Values(x);
        var y = Values(model.forward(x));
        for (int i = 0; i < D; i++)
        {
            double expected = beta[i];
            for (int j = 0; j < K; j++) expected += (w[i * K + j] + b[i]) * xs[j];
            Assert.Equal(expected, y[i], 6);
        }
    }

    [Fact]
    public void One_trainable_vector_of_length_d_per_layer()
    {
        var mlp = new Mlp(32, 64, 16);
        var attachment = Peft.Attach(mlp, mlp.Targets, new OneLoRAMethod());
        var report = attachment.Report();
        Assert.Equal(64 + 16, report.Trainable);
        Assert.Equal(mlp.parameters().Sum(p => p.numel()), report.Total);
        Assert.Equal(2, report.AdaptedLayers);
        Assert.Contains("trainable params: 80", report.ToString());
    }

    [Fact]
    public void Norms_combination_also_trains_the_LayerNorm()
    {
        var mlp = new Mlp(32, 64, 16);
        var attachment = Peft.Attach(mlp, mlp.Targets, new OneLoRAMethod(new PeftOptions { TrainNorms = true }));
        var names = attachment.NamedTrainableParameters().Select(p => p.Name).ToHashSet();
        Assert.Equal(["fc1_onelora.b", "fc2_onelora.b", "norm.weight", "norm.bias"], names);
        Assert.Equal(64 + 16 + 2 * 32, attachment.Report().Trainable);
        Assert.False(mlp.fc1.weight!.requires_grad);
    }

    [Fact]
    public void Random_compression_uses_a_fixed_seeded_vector()
    {
        var opts = new PeftOptions { RandomCompression = true, CompressionSeed = 42 };
        var (model, adapter) = Attached(options: opts);
        var v = Values(adapter.CompressionVector!);
        Assert.Equal(K, v.Length);
        Assert.False(adapter.CompressionVector!.requires_grad);
        Assert.DoesNotContain(adapter.CompressionVector.Handle, model.TrainableParameters().Select(p => p.Handle));

        Set(adapter.DecompressionVector, tensor(new[] { 0.5, -1.0, 2.0 }, dtype: ScalarType.Float64));
        var x = randn(3, K, dtype: ScalarType.Float64, generator: g);
        var y = Values(model.forward(x));
        var w = Values(model.fc.weight!); var beta = Values(model.fc.bias!); var b = Values(adapter.DecompressionVector); var xs = Values(x);
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < D; i++)
            {
                double expected = beta[i];
                for (int j = 0; j < K; j++) expected += (w[i * K + j] + b[i] * v[j]) * xs[n * K + j];   // ΔW = b·vᵀ
                Assert.Equal(expected, y[n * D + i], 12);
            }

        Assert.Equal(v, Values(Attached(options: opts).Adapter.CompressionVector!));
        Assert.NotEqual(v, Values(Attached(options: new PeftOptions { RandomCompression = true, CompressionSeed = 43 }).Adapter.CompressionVector!));
    }

    [Fact]
    public void Attaching_twice_or_listing_a_layer_twice_is_refused()
    {
        var mlp = new Mlp(8, 8, 8);
        var dup = Assert.Throws<InvalidOperationException>(() => Peft.Attach(mlp, [new("fc1", mlp.fc1), new("again", mlp.fc1)], new OneLoRAMethod()));
        Assert.Contains("'fc1'", dup.Message);

        Peft.Attach(mlp, mlp.Targets, new OneLoRAMethod());
        var twice = Assert.Throws<InvalidOperationException>(() => Peft.Attach(mlp, mlp.Targets, new OneLoRAMethod()));
        Assert.Contains("already has OneLoRA adapters", twice.Message);
    }

    [Fact]
    public void Wrong_sized_compression_vector_names_the_expected_shape()
    {
        var e = Assert.Throws<ArgumentException>(() => new OneLoRAAdapter(Layer(K, D), ones(K + 1, dtype: ScalarType.Float64)));
        Assert.Contains($"[{K}]", e.Message);
    }
}
