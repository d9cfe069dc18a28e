using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using OneLoRA.Serialization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Serialization;

public sealed class ModelWeightsTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private static Tensor Output(nn.Module<Tensor, Tensor> model)
    {
        using var x = TinyNet.Input();
        using (no_grad()) return model.call(x);
    }

    [Fact]
    public void Merged_weights_load_into_a_plain_base_model_and_reproduce_the_adapted_outputs()
    {
        using var adapted = new TinyNet(seed: 1);
        using var w0 = adapted.Fc1.weight!.detach().to(ScalarType.Float64);
        var attachment = adapted.AttachForTest(new PeftOptions { Method = "OneLoRA", TrainNorms = true });
        AdapterValues.Randomize(attachment);
        using var b = attachment["fc1"].AdapterTensors().Single().Tensor.detach().to(ScalarType.Float64);
        using var expected = Output(adapted);
        attachment.Merge();
        var path = dir.File("model.safetensors");

        adapted.SaveWeights(path);

        var stored = Safetensors.Load(path);
        try
        {
            Assert.Equal(["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "norm.bias", "norm.weight"], stored.Keys.Order(StringComparer.Ordinal));
            // 1LoRA's ΔW = b·1ᵀ: row i of the merged weight is W0[i] + b[i], computed here in float64.
            using var mergedByHand = w0 + b.unsqueeze(1);
            Assert.True(stored["fc1.weight"].to(ScalarType.Float64).allclose(mergedByHand, rtol: 0, atol: 1e-5));
        }
        finally
        {
            foreach (var t in stored.Values) t.Dispose();
        }

        using var deployed = new TinyNet(seed: 99);
        deployed.LoadWeights(path);
        using var actual = Output(deployed);
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-5), $"max diff {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Saving_unmerged_adapters_as_weights_is_refused()
    {
        using var model = new TinyNet();
        model.AttachForTest(new PeftOptions { Method = "OneLoRA" });
        var path = dir.File("model.safetensors");

        var e = Assert.Throws<InvalidOperationException>(() => model.SaveWeights(path));
        Assert.Contains("unmerged OneLoRA adapters", e.Message);
        Assert.Contains("Merge()", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Base_weights_load_into_a_model_with_fresh_adapters()
    {
        // Pretrained base weights, then a new model with adapters attached: loading the base file must not
        // expect adapter keys, and zero-initialised 1LoRA keeps the base outputs.
        using var pretrained = new TinyNet(seed: 4);
        using var expected = Output(pretrained);
        var path = dir.File("pretrained.safetensors");
        pretrained.SaveWeights(path);

        using var model = new TinyNet(seed: 5);
        model.AttachForTest(new PeftOptions { Method = "OneLoRA" });
        model.LoadWeights(path);
        using var actual = Output(model);
        Assert.True(actual.eq(expected).all().item<bool>());
    }

    [Fact]
    public void Weights_that_do_not_fit_list_every_key_and_change_nothing()
    {
        using var source = new TinyNet();
        var state = source.state_dict();
        using var extra = ones(2);
        var path = dir.File("edited.safetensors");
        Safetensors.Save(path, state.Where(kv => kv.Key != "fc2.bias").Select(kv => (kv.Key, kv.Value)).Append(("extra.weight", extra)));

        using var wider = new TinyNet(hidden: 6, seed: 2);
        var before = AdapterValues.Snapshot(wider);
        var e = Assert.Throws<StateLoadException>(() => wider.LoadWeights(path));

        Assert.Equal(["fc2.bias"], e.Missing);
        Assert.Equal(["extra.weight"], e.Unexpected);
        Assert.Equal(["fc1.bias", "fc1.weight", "fc2.weight", "norm.bias", "norm.weight"], e.Mismatched.Select(m => m.Key));
        Assert.Contains("fc1.weight (model F32[6, 4], file F32[5, 4])", e.Message);
        Assert.Equal(before, AdapterValues.Snapshot(wider));
    }

    [Fact]
    public void Loading_weights_under_merged_adapters_is_refused()
    {
        using var source = new TinyNet();
        var path = dir.File("base.safetensors");
        source.SaveWeights(path);

        using var model = new TinyNet();
        model.AttachForTest(new PeftOptions { Method = "OneLoRA" }).Merge();
        Assert.Contains("Unmerge() before LoadWeights", Assert.Throws<InvalidOperationException>(() => model.LoadWeights(path)).Message);
    }

    [Fact]
    public void Integer_tensors_must_match_exactly_while_floats_convert()
    {
        using var source = new TinyNet();
        var path = dir.File("ints.safetensors");
        using var asInts = source.Fc1.bias!.detach().to(ScalarType.Int32);
        var state = source.state_dict().Where(kv => kv.Key != "fc1.bias").Select(kv => (kv.Key, kv.Value.detach().to(ScalarType.Float64))).ToList();
        Safetensors.Save(path, state.Append(("fc1.bias", asInts)));

        using var model = new TinyNet(seed: 3);
        var e = Assert.Throws<StateLoadException>(() => model.LoadWeights(path));
        var mismatch = Assert.Single(e.Mismatched);
        Assert.Equal("fc1.bias", mismatch.Key);
        Assert.Equal("F32", mismatch.ModelDType);
        Assert.Equal("I32", mismatch.FileDType);
        foreach (var (_, t) in state) t.Dispose();
    }
}
