using System;
using System.Linq;
using OneLoRA;
using OneLoRA.Methods.BitFit;
using OneLoRA.Methods.DiffFit;
using OneLoRA.Methods.Full;
using OneLoRA.Methods.LoRA;
using OneLoRA.Methods.OneLoRA;
using Xunit;
using static OneLoRA.Tests.Methods.MethodCases;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>BitFit, DiffFit, the TrainScale combination and full fine-tuning.</summary>
public sealed class BiasScaleFullTests
{
    [Fact]
    public void BitFit_holds_the_bias_itself_and_creates_one_for_bias_free_layers_only_while_merged()
    {
        using var g = TestRng.Create(101);
        using var model = new TinyNet(6, 10, 5, seed: 101);
        var b0 = model.Fc1.bias!.detach().clone();
        var attachment = model.Attach(PeftMethods.Create("bitfit"));
        var fc1 = (BitFitAdapter)attachment["fc1"];
        var fc2 = (BitFitAdapter)attachment["fc2"];
        Assert.Equal(0.0, MaxAbs(fc1.Bias, b0));
        Assert.Equal(0.0, fc2.Bias.abs().max().item<double>());
        Assert.Equal("bitfit_bias", Assert.Single(fc1.AdapterTensors()).Key);
        Perturb(fc2, g);
        attachment.Merge();
        Assert.Equal(0.0, MaxAbs(model.Fc2.bias!, fc2.Bias));
        Assert.False(model.Fc2.bias!.requires_grad);
        attachment.Unmerge();
        Assert.Null(model.Fc2.bias);
        Assert.Equal(0.0, MaxAbs(model.Fc1.bias!, b0));
        Assert.Equal("BITFIT", attachment.Method.PeftType);
    }

    [Fact]
    public void DiffFit_trains_the_norms_even_when_not_asked_and_keeps_its_keys()
    {
        using var model = new TinyNet(6, 10, 5);
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = "DiffFit", TrainNorms = false, TrainBiases = true, TrainScale = true }));
        Assert.True(model.Norm.weight!.requires_grad && model.Norm.bias!.requires_grad);
        Assert.False(model.Fc1.bias!.requires_grad);
        var fc1 = Assert.IsType<DiffFitAdapter>(attachment["fc1"]);
        Assert.Equal(["difffit_beta", "difffit_gamma"], fc1.AdapterTensors().Select(t => t.Key).Order());
        Assert.Equal(true, attachment.Method.ConfigEntries["train_norms"]);
        Assert.Equal(false, attachment.Method.ConfigEntries["train_scale"]);
    }

    [Fact]
    public void Zero_scale_rows_are_restored_exactly_on_unmerge()
    {
        using var g = TestRng.Create(102);
        using var model = new TinyNet(6, 10, 5, seed: 102);
        var w1 = model.Fc1.weight!.detach().clone();
        var w2 = model.Fc2.weight!.detach().clone();
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = "LoRA", TrainScale = true }));
        foreach (var l in attachment.Layers) Perturb(l.Adapter, g);
        var x = randn(3, 6, dtype: ScalarType.Float64, generator: g);
        using (no_grad())
        {
            ((ScaledAdapter)attachment["fc1"]).Gamma[2] = 0;
            ((ScaledAdapter)attachment["fc2"]).Gamma[0] = 0;
        }
        var adapted = model.forward(x).detach().clone();
        attachment.Merge();
        Assert.Equal(0.0, model.Fc1.weight![2].abs().max().item<double>());
        Assert.True(MaxAbs(model.forward(x), adapted) <= 1e-10);
        attachment.Unmerge();
        Assert.True(MaxAbs(model.Fc1.weight!, w1) <= 1e-12);
        Assert.True(MaxAbs(model.Fc2.weight!, w2) <= 1e-12);

        using var diff = new SingleLinear(4, 3);
        var w0 = diff.Layer.weight!.detach().clone();
        var diffFit = (DiffFitAdapter)diff.Attach(PeftMethods.Create("DiffFit"))["lin"];
        using (no_grad()) diffFit.Gamma[1] = 0;
        diffFit.Merge(diff.Layer);
        diffFit.Unmerge(diff.Layer);
        Assert.Equal(0.0, MaxAbs(diff.Layer.weight!, w0));
    }

    [Fact]
    public void TrainScale_wraps_any_method_and_adds_scale_gamma()
    {
        using var model = new TinyNet(6, 10, 5);
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = "OneLoRA", TrainScale = true }));
        var scaled = Assert.IsType<ScaledAdapter>(attachment["fc2"]);
        Assert.IsType<OneLoRAAdapter>(scaled.Inner);
        Assert.Same(scaled, Peft.AdapterFor(model.Fc2));
        Assert.Equal(["onelora_b", "scale_gamma"], scaled.AdapterTensors().Select(t => t.Key).Order());
        Assert.True(scaled.Gamma.eq(1).all().item<bool>());
        Assert.Equal(new long[] { 5 }, scaled.Gamma.shape);
        Assert.Throws<InvalidOperationException>(() => scaled.Unmerge(model.Fc2));
        scaled.Merge(model.Fc2);
        Assert.True(scaled.Inner.IsMerged);
        Assert.Throws<InvalidOperationException>(() => scaled.Merge(model.Fc2));
    }

    [Fact]
    public void Full_trains_every_parameter_and_merge_changes_nothing()
    {
        using var g = TestRng.Create(103);
        using var model = new TinyNet(6, 10, 5, seed: 103);
        var attachment = model.Attach(PeftMethods.Create("all"));
        Assert.IsType<FullMethod>(attachment.Method);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        var report = attachment.Report();
        Assert.Equal(report.Total, report.Trainable);
        Assert.Equal(6 * 2 + 6 * 10 + 10 + 10 * 5, report.Total);
        var w = model.Fc1.weight!.detach().clone();
        attachment.Merge();
        Assert.Equal(0.0, MaxAbs(model.Fc1.weight!, w));
        attachment.Unmerge();
        Assert.Empty(attachment["fc1"].AdapterTensors());
    }

    [Theory]
    [InlineData("lora", "LoRA", typeof(LoRAMethod))]
    [InlineData("dora", "DoRA", typeof(OneLoRA.Methods.DoRA.DoRAMethod))]
    [InlineData("vera", "VeRA", typeof(OneLoRA.Methods.VeRA.VeRAMethod))]
    [InlineData("mora", "MoRA", typeof(OneLoRA.Methods.MoRA.MoRAMethod))]
    [InlineData("MORA6", "MoRA6", typeof(OneLoRA.Methods.MoRA.MoRAMethod))]
    [InlineData("bitfit", "BitFit", typeof(BitFitMethod))]
    [InlineData("difffit", "DiffFit", typeof(DiffFitMethod))]
    [InlineData("full", "Full", typeof(FullMethod))]
    [InlineData("fullfinetune", "Full", typeof(FullMethod))]
    [InlineData("All", "Full", typeof(FullMethod))]
    public void Registry_resolves_names_and_aliases(string alias, string canonical, Type type)
    {
        Assert.True(PeftMethods.TryResolve(alias, out var resolved));
        Assert.Equal(canonical, resolved);
        Assert.IsType(type, PeftMethods.Create(alias));
    }

    [Fact]
    public void Every_method_enum_value_is_registered()
    {
        foreach (var m in Enum.GetValues<Method>())
            Assert.True(PeftMethods.TryResolve(m.ToString(), out _), $"Method.{m} is not registered");
    }
}
