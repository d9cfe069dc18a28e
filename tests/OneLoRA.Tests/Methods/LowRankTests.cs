using System;
using System.Linq;
using OneLoRA;
using OneLoRA.Methods.DoRA;
using OneLoRA.Methods.LoRA;
using Xunit;
using static OneLoRA.Tests.Methods.MethodCases;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>LoRA and DoRA specifics: init, scaling, dropout, PEFT's names, DoRA's detached norm.</summary>
public sealed class LowRankTests
{
    [Fact]
    public void LoRA_A_is_kaiming_uniform_and_B_zeros_with_PEFT_keys()
    {
        using var g = TestRng.Create(91);
        using var model = new SingleLinear(400, 30, dtype: ScalarType.Float32, seed: 91);
        var lora = (LoRAAdapter)model.Attach(PeftMethods.Create(new PeftOptions { Method = "LoRA", Rank = 8 }))["lin"];
        var bound = 1 / Math.Sqrt(400);   // kaiming_uniform(a=√5): √(6/((1+5)·k)) = 1/√k
        var a = lora.LoraA.detach().to(ScalarType.Float64);
        Assert.True(a.abs().max().item<double>() <= bound);
        Assert.True(a.abs().max().item<double>() > 0.95 * bound);
        Assert.True(Math.Abs(a.mean().item<double>()) < 0.1 * bound);
        Assert.Equal(0.0, lora.LoraB.abs().max().item<float>());
        var keys = lora.AdapterTensors().ToDictionary(t => t.Key, t => t.Tensor.shape);
        Assert.Equal(new long[] { 8, 400 }, keys["lora_A.weight"]);
        Assert.Equal(new long[] { 30, 8 }, keys["lora_B.weight"]);
    }

    [Theory]
    [InlineData(4, 0, false, 1.0)]
    [InlineData(4, 8, false, 2.0)]
    [InlineData(4, 8, true, 4.0)]
    [InlineData(16, 0, true, 4.0)]
    public void Scaling_is_alpha_over_r_or_over_root_r(int rank, double alpha, bool rs, double expected)
    {
        using var model = new SingleLinear(8, 8);
        var lora = (LoRAAdapter)model.Attach(PeftMethods.Create(new PeftOptions { Method = "lora", Rank = rank, Alpha = alpha, UseRsLoRA = rs }))["lin"];
        Assert.Equal(expected, lora.Scaling, 12);
        var config = Peft.AttachmentFor(model)!.Method.ConfigEntries;
        Assert.Equal(alpha == 0 ? rank : alpha, config["lora_alpha"]);
        Assert.Equal(rs, config["use_rslora"]);
        Assert.Equal(false, config["use_dora"]);
        Assert.Equal("none", config["bias"]);
        Assert.Equal("lora_only", PeftMethods.Create(new PeftOptions { Method = "LoRA", TrainBiases = true }).ConfigEntries["bias"]);
    }

    [Theory]
    [InlineData("LoRA")]
    [InlineData("DoRA")]
    [InlineData("VeRA")]
    [InlineData("MoRA1")]
    public void Dropout_acts_on_the_adapter_branch_in_training_only(string method)
    {
        using var g = TestRng.Create(92);
        using var model = new SingleLinear(64, 16, seed: 92);
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = method, Dropout = 0.5 }));
        var x = randn(32, 64, dtype: ScalarType.Float64, generator: g);
        var w0 = model.Layer.weight!.detach().clone();
        var b0 = model.Layer.bias!.detach().clone();
        var baseOutput = x.mm(w0.t()) + b0;

        model.train();
        // Fresh adapters contribute nothing, dropout or not: the base path is never dropped.
        Assert.True(MaxAbs(model.forward(x), baseOutput) <= 1e-12, $"{method}: dropout touched the base path");

        Perturb(attachment["lin"], g);
        var t1 = model.forward(x).detach().clone();
        var t2 = model.forward(x).detach().clone();
        Assert.True(MaxAbs(t1, t2) > 1e-6, $"{method}: no dropout in training mode");

        model.eval();
        var (w, b) = ExpectedWeights(attachment["lin"], w0, b0);
        var e1 = model.forward(x);
        Assert.True(MaxAbs(e1, x.mm(w.t()) + b) <= 1e-10, $"{method}: dropout active in eval mode");
    }

    [Fact]
    public void DoRA_magnitude_starts_as_row_norms_and_is_saved_under_PEFT_names()
    {
        using var g = TestRng.Create(93);
        using var model = new SingleLinear(12, 7, seed: 93);
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = "DoRA", Rank = 2 }));
        var dora = (DoRAAdapter)attachment["lin"];
        var w0 = model.Layer.weight!;
        var norms = w0.square().sum(1).sqrt();
        Assert.True(MaxAbs(dora.Magnitude, norms) <= 1e-14);
        Assert.Equal(["lora_A.weight", "lora_B.weight", "lora_magnitude_vector"], dora.AdapterTensors().Select(t => t.Key).Order());
        Assert.Equal("LORA", attachment.Method.PeftType);
        Assert.Equal(true, attachment.Method.ConfigEntries["use_dora"]);
    }

    [Fact]
    public void DoRA_gradients_treat_the_norm_as_a_constant()
    {
        using var g = TestRng.Create(94);
        using var model = new SingleLinear(9, 6, seed: 94);
        var dora = (DoRAAdapter)model.Attach(PeftMethods.Create(new PeftOptions { Method = "DoRA", Rank = 2, Alpha = 3 }))["lin"];
        Perturb(dora, g);
        var w0 = model.Layer.weight!.detach();
        var b0 = model.Layer.bias!.detach();
        var x = randn(5, 9, dtype: ScalarType.Float64, generator: g);
        var target = randn(5, 6, dtype: ScalarType.Float64, generator: g);
        model.forward(x).sub(target).square().sum().backward();

        // Reference: W' = m/‖V‖·V with V = W0 + s·B·A, the norm computed from detached copies (DoRA §4.3).
        var a = dora.LoraA.detach().clone().requires_grad_(true);
        var bm = dora.LoraB.detach().clone().requires_grad_(true);
        var m = dora.Magnitude.detach().clone().requires_grad_(true);
        var v = w0 + dora.Scaling * bm.mm(a);
        var n = (w0 + dora.Scaling * bm.detach().mm(a.detach())).square().sum(1).sqrt();
        var w = v * (m / n).unsqueeze(1);
        (x.mm(w.t()) + b0).sub(target).square().sum().backward();

        Assert.True(MaxAbs(dora.LoraA.grad!, a.grad!) <= 1e-10);
        Assert.True(MaxAbs(dora.LoraB.grad!, bm.grad!) <= 1e-10);
        Assert.True(MaxAbs(dora.Magnitude.grad!, m.grad!) <= 1e-10);
    }

    [Theory]
    [InlineData("LoRA", "Rank", 0)]
    [InlineData("DoRA", "Rank", -1)]
    [InlineData("VeRA", "Rank", 0)]
    [InlineData("MoRA", "Rank", 0)]
    public void Invalid_rank_names_the_method_and_option(string method, string option, int rank)
    {
        var e = Assert.Throws<ArgumentException>(() => PeftMethods.Create(new PeftOptions { Method = method, Rank = rank }));
        Assert.Contains(option, e.Message);
        Assert.Contains(method, e.Message);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    public void Invalid_dropout_names_the_option(double p)
    {
        var e = Assert.Throws<ArgumentException>(() => PeftMethods.Create(new PeftOptions { Method = "LoRA", Dropout = p }));
        Assert.Contains("Dropout", e.Message);
        Assert.Throws<ArgumentException>(() => PeftMethods.Create(new PeftOptions { Method = "LoRA", Alpha = -1 }));
    }
}
