using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Tests.Serialization;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Core;

/// <summary>Issue 12 item 5: merges check finiteness first and are all-or-nothing across layers, bit for bit.</summary>
public sealed class SafeMergeTests
{
    /// <summary>The raw bytes of every parameter and buffer, for a bitwise comparison.</summary>
    private static Dictionary<string, byte[]> Bits(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv =>
        {
            using var c = kv.Value.detach().contiguous();
            return c.bytes.ToArray();
        });

    private static void AssertBitIdentical(Dictionary<string, byte[]> before, nn.Module model)
    {
        var after = Bits(model);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (k, v) in before) Assert.True(v.AsSpan().SequenceEqual(after[k]), $"'{k}' changed.");
    }

    private static Tensor Tensor(PeftAttachment a, string layer, string key) =>
        a[layer].AdapterTensors().Concat(a[layer].SharedTensors()).First(t => t.Key == key).Tensor;

    [Theory]
    [InlineData("DoRA", false, "lora_magnitude_vector")]
    [InlineData("DoRA", false, "lora_B.weight")]
    [InlineData("LoRA", true, "scale_gamma")]
    [InlineData("OneLoRA", true, "scale_gamma")]
    [InlineData("LoRA", false, "lora_A.weight")]
    public void A_non_finite_adapter_value_leaves_every_weight_bit_identical(string method, bool trainScale, string key)
    {
        using var model = new TinyNet();
        var a = Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = method, Rank = 2, TrainScale = trainScale }));
        AdapterValues.Randomize(a);
        using (no_grad()) Tensor(a, "fc2", key).view(-1)[0] = tensor(float.NaN);
        var before = Bits(model);

        var e = Assert.Throws<AdapterMergeException>(() => a.Merge());
        Assert.Equal("fc2", e.LayerPath);
        Assert.Contains("'fc2'", e.Message);
        Assert.Contains(key, e.Message);
        AssertBitIdentical(before, model);
        Assert.All(a.Layers, l => Assert.False(l.Adapter.IsMerged));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_failure_in_a_later_layer_rolls_back_the_earlier_ones_bit_for_bit(bool trainScale)
    {
        using var model = new TinyNet();
        var a = Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = "DoRA", Rank = 2, TrainScale = trainScale }));
        AdapterValues.Randomize(a);
        // Finite tensors, but a zero row of W0 + s·B·A in fc2: DoRA's factor m/n is infinite there.
        using (no_grad())
        {
            model.Fc2.weight![0].zero_();
            Tensor(a, "fc2", "lora_B.weight").zero_();
        }
        var before = Bits(model);

        var e = Assert.Throws<AdapterMergeException>(() => a.Merge());
        Assert.Equal("fc2", e.LayerPath);
        Assert.Contains("rolled back", e.Message);
        AssertBitIdentical(before, model);
        Assert.All(a.Layers, l => Assert.False(l.Adapter.IsMerged));

        // The model still merges once the cause is gone: nothing is left half-merged.
        using (no_grad()) Tensor(a, "fc2", "lora_B.weight").fill_(0.5f);
        a.Merge();
        Assert.True(a.IsMerged);
        a.Unmerge();
    }

    [Fact]
    public void Merging_an_already_merged_layer_changes_nothing()
    {
        using var model = new TinyNet();
        var a = Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = "LoRA", Rank = 2 }));
        AdapterValues.Randomize(a);
        a["fc2"].Merge(model.Fc2);
        var before = Bits(model);
        var e = Assert.Throws<InvalidOperationException>(() => a.Merge());
        Assert.Contains("'fc2'", e.Message);
        AssertBitIdentical(before, model);
        Assert.False(a["fc1"].IsMerged);
    }
}
