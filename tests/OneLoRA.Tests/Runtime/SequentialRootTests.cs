using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Methods.OneLoRA;
using OneLoRA.Tests.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Runtime;

/// <summary>
/// Runtime attach to a root that cannot carry adapters itself (TorchSharp 0.107's Sequential lists and converts only
/// its sequence, Linear only its weight and bias): a <see cref="PeftRoot"/> hosts them.
/// </summary>
public sealed class SequentialRootTests
{
    private readonly Generator g = TestRng.Create(43);

    public static IEnumerable<object[]> Methods() => PeftMethods.Names.Select(n => new object[] { n });

    private static Sequential NewSequential(long seed) =>
        nn.Sequential(("fc1", nn.Linear(6, 10)), ("act", nn.Tanh()), ("fc2", nn.Linear(10, 4))).Init(seed);

    private static Dictionary<string, double[]> Values(IEnumerable<(string Name, Tensor Tensor)> tensors) =>
        tensors.ToDictionary(t => t.Name, t => t.Tensor.detach().to(ScalarType.Float64).contiguous().data<double>().ToArray());

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_method_attaches_trains_converts_saves_and_merges_on_a_Sequential_root(string method)
    {
        using var seq = NewSequential(5);
        // None adds nothing to a layer; with TrainBiases it trains the biases alone ("β"), which this test can check.
        PeftOptions Options() => new() { Method = method, TrainBiases = method == "None" };
        var attachment = PeftModel.Attach(seq, PeftMethods.Create(Options()));
        Assert.Same(seq, attachment.Root);
        var host = Assert.IsType<PeftRoot>(attachment.Host);
        Assert.Same(seq, host.Model);
        Assert.Same(attachment, seq.Adapters());
        Assert.Equal(["fc1", "fc2"], attachment.Layers.Select(l => l.Path));

        // Listed: every trainable parameter (adapters and extras) is a parameter of the host, base names unchanged.
        var listed = host.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("fc1.weight", listed);
        Assert.Contains("fc2.bias", listed);
        var trainable = attachment.NamedTrainableParameters().ToList();
        Assert.NotEmpty(trainable);
        Assert.All(trainable, t => Assert.Contains(t.Name, listed));

        // One training step through the Sequential's own forward changes what is trained, and only that.
        var x = randn(16, 6, generator: g).add_(0.5);
        var target = randn(16, 4, generator: g);
        var before = Values(host.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        using (var optimizer = optim.AdamW(attachment.TrainableParameters(), lr: 0.05))
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.mse_loss(seq.call(x), target).backward();
            optimizer.step();
        }
        var after = Values(host.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        var trainedNames = trainable.Select(t => t.Name).ToHashSet();
        Assert.Contains(after, kv => trainedNames.Contains(kv.Key) && !kv.Value.SequenceEqual(before[kv.Key]));
        Assert.All(after.Where(kv => !trainedNames.Contains(kv.Key)), kv => Assert.Equal(before[kv.Key], kv.Value));

        // Saved and loaded into a fresh copy of the base model: the same adapter tensors and the same output.
        using (var dir = new TempDirectory())
        {
            attachment.Save(dir.Path);
            using var copy = NewSequential(5);
            var loaded = PeftModel.Attach(copy, PeftMethods.Create(Options()));
            copy.LoadAdapters(dir.Path);
            Assert.Equal(Values(attachment.AdapterStateDict()), Values(loaded.AdapterStateDict()));
            Assert.Equal(Values([("y", seq.call(x))]), Values([("y", copy.call(x))]));
        }

        // Converted: the host's .to() carries the adapters along with the layers.
        host.to(ScalarType.Float64);
        Assert.All(host.named_parameters(), p => Assert.Equal(ScalarType.Float64, p.parameter.dtype));
        Assert.All(attachment.TrainableParameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        var x64 = x.to(ScalarType.Float64);
        var w0 = attachment.Layers.ToDictionary(l => l.Path, l => (W: l.Layer.weight!.detach().clone(), B: l.Layer.bias?.detach().clone()));
        var unmerged = seq.call(x64).detach().clone();
        Assert.Equal(ScalarType.Float64, unmerged.dtype);

        attachment.Merge();
        var merged = seq.call(x64).detach().clone();
        // Float64 bound (u = 2⁻⁵³): each path computes a layer output as a length-k dot product plus a few (≤ 16)
        // elementwise steps on terms no larger than (|W0| + |W'|)·|x| + |β0| + |β'|, so it errs by at most
        // γ = (k + 16)·u times that sum S (Higham, Thm 3.5); both paths err, hence 2γS per layer. fc1's error reaches
        // the output through tanh (1-Lipschitz) and fc2's merged weights (row sums of |W2'|).
        const double u = 1.0 / (1L << 53);
        double LayerSum(string path, Tensor input)
        {
            var layer = attachment.Layers.Single(l => l.Path == path).Layer;
            var (w, b) = w0[path];
            var s = (w.abs() + layer.weight!.detach().abs()).mm(input.abs().t()).t();
            if (b is not null) s = s + b.abs();
            if (layer.bias is { } merBias) s = s + merBias.detach().abs();
            return s.max().item<double>();
        }
        double err1 = 2 * (6 + 16) * u * LayerSum("fc1", x64);
        double err2 = 2 * (10 + 16) * u * LayerSum("fc2", ones(1, 10, dtype: ScalarType.Float64));
        double propagated = attachment.Layers.Single(l => l.Path == "fc2").Layer.weight!.detach().abs().sum(1).max().item<double>() * err1;
        double bound = err2 + propagated;
        double diff = (merged - unmerged).abs().max().item<double>();
        Assert.True(diff <= bound, $"{method}: merged vs unmerged differ by {diff:E2}, bound {bound:E2}");
        attachment.Unmerge();
    }

    [Fact]
    public void Converting_the_Sequential_instead_of_the_host_is_refused_with_the_fix_named()
    {
        using var seq = NewSequential(6);
        var attachment = PeftModel.Attach(seq, new OneLoRAMethod());
        seq.to(ScalarType.Float64);                 // moves the layers only: Sequential cannot reach the adapters
        var e = Assert.Throws<InvalidOperationException>(() => seq.call(randn(2, 6, dtype: ScalarType.Float64, generator: g)));
        Assert.Contains("'fc1'", e.Message);
        Assert.Contains("attachment.Host.to(", e.Message);
        attachment.Host.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, seq.call(randn(2, 6, dtype: ScalarType.Float64, generator: g)).dtype);
    }

    [Fact]
    public void A_bare_Linear_root_is_hosted_under_its_given_path()
    {
        using var layer = nn.Linear(5, 3).Init(7);
        var attachment = Peft.Attach(layer, [new TargetLayer("fc", layer)], new OneLoRAMethod());
        var host = Assert.IsType<PeftRoot>(attachment.Host);
        Assert.Equal(["fc.weight", "fc.bias", "fc_onelora.b"], host.named_parameters().Select(p => p.name));
        using (no_grad()) ((OneLoRAAdapter)attachment["fc"]).DecompressionVector.fill_(0.5);
        host.to(ScalarType.Float64);
        var x = randn(2, 5, dtype: ScalarType.Float64, generator: g);
        // W0x + β + b·1ᵀx, computed independently.
        var expected = x.mm(layer.weight!.detach().t()) + layer.bias!.detach() + 0.5 * x.sum(1, keepdim: true);
        Assert.True((layer.call(x) - expected).abs().max().item<double>() <= 1e-12);
        Assert.Throws<InvalidOperationException>(() => Peft.Attach(nn.Linear(2, 2), [new TargetLayer("a.b", nn.Linear(2, 2))], new OneLoRAMethod()));
    }
}
