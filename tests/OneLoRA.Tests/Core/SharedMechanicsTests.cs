using System.Collections.Generic;
using System.Linq;
using OneLoRA.Methods.BitFit;
using OneLoRA.Methods.LoRA;
using OneLoRA.Methods.OneLoRA;
using OneLoRA.Tests.Methods;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Core;

/// <summary>
/// The mechanics every method shares through Core: one CreateAdapters path, the TrainScale wrapper's path, parameter
/// counts that take each parameter once, merge temporaries inside a dispose scope, the LoRA family's scaling.
/// </summary>
public sealed class SharedMechanicsTests
{
    public static IEnumerable<object[]> Methods() => PeftMethods.Names.Select(n => new object[] { n });

    private static List<TargetLayer> Layers() =>
        [new("a", nn.Linear(4, 3, dtype: ScalarType.Float64)), new("b", nn.Linear(3, 2, hasBias: false, dtype: ScalarType.Float64))];

    [Theory]
    [MemberData(nameof(Methods))]
    public void CreateAdapters_gives_the_same_adapters_by_the_class_and_through_the_interface(string name)
    {
        var method = Assert.IsAssignableFrom<PeftMethodBase>(PeftMethods.Create(new PeftOptions { Method = name, TrainScale = true }));
        var layers = Layers();

        var byClass = method.CreateAdapters(layers);
        var byInterface = ((IPeftMethod)method).CreateAdapters(layers);

        Assert.Equal(byInterface.Select(a => a.GetType()), byClass.Select(a => a.GetType()));
        // DiffFit and Full switch TrainScale off (they train γ, or everything, themselves); every other method is wrapped.
        Assert.All(byClass, a => Assert.Equal(method.Options.TrainScale, a is ScaledAdapter));
        Assert.Equal(!(name is "DiffFit" or "Full"), method.Options.TrainScale);
    }

    [Fact]
    public void The_TrainScale_wrapper_gives_its_inner_adapter_the_layer_path_at_attach_and_merging_keeps_it()
    {
        using var model = new TinyNet(6, 10, 5);
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = "LoRA", TrainScale = true }));
        var scaled = Assert.IsType<ScaledAdapter>(attachment["fc1"]);

        Assert.Equal("fc1", scaled.Path);
        Assert.Equal("fc1", scaled.Inner.Path);
        attachment.Merge();
        attachment.Unmerge();
        Assert.Equal("fc1", scaled.Inner.Path);
    }

    // TinyNet(6, 10, 5): LayerNorm 6 + 6, fc1 6·10 + 10 (bias), fc2 10·5 (no bias) = 132 parameters.
    private const long TinyNetParameters = 12 + 70 + 50;

    [Fact]
    public void BitFit_report_counts_a_trained_bias_and_the_bias_it_stands_in_for_once()
    {
        using var model = new TinyNet(6, 10, 5);
        var attachment = model.Attach(PeftMethods.Create("BitFit"));

        // β of fc1 stands in for fc1's own bias (10, not counted again); fc2 has none, so its β (5) is new.
        var report = attachment.Report();
        Assert.Equal(10 + 5, report.Trainable);
        Assert.Equal(TinyNetParameters + 5, report.Total);

        // Merged, fc2 holds a created bias, and β stands in for it: still each parameter once.
        attachment.Merge();
        Assert.Equal(TinyNetParameters + 5, attachment.Report().Total);
        attachment.Unmerge();
        Assert.Equal(TinyNetParameters + 5, attachment.Report().Total);
    }

    [Fact]
    public void DiffFit_and_scaled_BitFit_reports_count_each_parameter_once()
    {
        using var diffFitModel = new TinyNet(6, 10, 5);
        var diffFit = diffFitModel.Attach(PeftMethods.Create("DiffFit")).Report();
        // γ 10 + 5, β 10 (for fc1's bias) + 5 (new), the norm's 12 trained in place.
        Assert.Equal(15 + 15 + 12, diffFit.Trainable);
        Assert.Equal(TinyNetParameters + 15 + 5, diffFit.Total);

        using var scaledModel = new TinyNet(6, 10, 5);
        var scaled = scaledModel.Attach(PeftMethods.Create(new PeftOptions { Method = "BitFit", TrainScale = true })).Report();
        Assert.Equal(15 + 15, scaled.Trainable);
        Assert.Equal(TinyNetParameters + 15 + 5, scaled.Total);
    }

    [Theory]
    [InlineData("LoRA")]
    [InlineData("OneLoRA")]
    [InlineData("DoRA")]
    [InlineData("VeRA")]
    [InlineData("MoRA6")]
    [InlineData("DiffFit")]
    public void Merge_and_unmerge_leave_no_tensor_alive(string method)
    {
        using var model = new TinyNet(6, 10, 5);
        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = method, TrainScale = method != "DiffFit" }));
        attachment.Merge();                                      // first merge: lazily made caches, if any
        attachment.Unmerge();

        var stats = DisposeScopeManager.Statistics;
        long liveBefore = stats.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++)
        {
            attachment.Merge();
            attachment.Unmerge();
        }

        Assert.Equal(liveBefore, stats.ThreadTotalLiveCount);
    }

    [Theory]
    [InlineData(4, 0, false, "q", 1.0)]          // alpha 0 means alpha = r: s = 1
    [InlineData(4, 8, false, "q", 2.0)]          // 8 / 4
    [InlineData(4, 8, true, "q", 4.0)]           // rsLoRA: 8 / √4
    [InlineData(4, 8, false, "model.k", 0.5)]    // rank_pattern k → 16: 8 / 16
    public void The_LoRA_family_owns_its_scaling(int rank, double alpha, bool rs, string path, double expected)
    {
        var o = new PeftOptions { Rank = rank, Alpha = alpha, UseRsLoRA = rs, RankPattern = new() { ["k"] = 16 } };

        Assert.Equal(expected, LowRankMethod.ScalingFor(o, path), 12);
        var adapter = Assert.IsType<LoRAAdapter>(new LoRAMethod(o).CreateAdapters([new TargetLayer(path, nn.Linear(4, 3))]).Single());
        Assert.Equal(expected, adapter.Scaling, 12);
        Assert.Equal(path == "q" ? rank : 16, adapter.Rank);
#pragma warning disable CS0618 // the forwarders must agree with the family's scaling
        Assert.Equal(LowRankMethod.Scaling(o), o.Scaling, 12);
        Assert.Equal(expected, o.ScalingFor(path), 12);
#pragma warning restore CS0618
    }

    [Fact]
    public void The_1LoRA_decompression_vector_is_named_as_such_and_the_old_name_forwards()
    {
        var adapter = new OneLoRAAdapter(nn.Linear(4, 3));

        Assert.Equal(new long[] { 3 }, adapter.DecompressionVector.shape);
        Assert.Equal("onelora_b", adapter.AdapterTensors().Single(t => t.Tensor.Handle == adapter.DecompressionVector.Handle).Key);
#pragma warning disable CS0618 // the obsolete forwarder
        Assert.Same(adapter.DecompressionVector, adapter.B);
#pragma warning restore CS0618
    }

    [Theory]
    [InlineData("VeRA", "Rank", 0)]
    [InlineData("MoRA", "Rank", 0)]
    [InlineData("LoRA", "Rank", 0)]
    [InlineData("VeRA", "Dropout", 1.0)]
    [InlineData("MoRA", "Dropout", -0.1)]
    [InlineData("DoRA", "Dropout", 1.0)]
    public void Rank_and_dropout_are_checked_alike_by_every_method_that_reads_them(string method, string option, double value)
    {
        var o = new PeftOptions { Method = method };
        if (option == "Rank") o.Rank = (int)value; else o.Dropout = value;

        var e = Assert.Throws<System.ArgumentException>(() => PeftMethods.Create(o));

        Assert.Equal(option, e.ParamName);
        string expected = option == "Rank" ? "expected an integer ≥ 1." : "expected a probability in [0, 1).";
        Assert.EndsWith(expected, e.Message.Split(" (Parameter")[0]);
        Assert.Contains($"PeftOptions.{option} = ", e.Message);
    }

    [Fact]
    public void BitFit_and_DiffFit_start_their_beta_as_the_layer_bias_and_add_only_its_change()
    {
        var g = new Generator(5, device: CPU);
        using var model = new SingleLinear(4, 3);
        var attachment = model.Attach(PeftMethods.Create("BitFit"));
        var adapter = Assert.IsType<BitFitAdapter>(attachment.Layers.Single().Adapter);
        var layer = attachment.Layers.Single().Layer;
        var x = randn(2, 4, dtype: ScalarType.Float64, generator: g);

        Assert.Equal(TestModels.Values(layer.bias!), TestModels.Values(adapter.Bias));
        using (no_grad()) adapter.Bias.add_(tensor(new[] { 1.0, -2.0, 0.5 }, dtype: ScalarType.Float64));
        // Independent: W0·x + β with β = β0 + shift, from the layer's own tensors in float64.
        var expected = x.matmul(layer.weight!.detach().t()).add(layer.bias!.detach()).add(tensor(new[] { 1.0, -2.0, 0.5 }, dtype: ScalarType.Float64));
        var y = adapter.Forward(layer, x);
        Assert.True(y.allclose(expected, rtol: 0, atol: 1e-12));
    }
}
