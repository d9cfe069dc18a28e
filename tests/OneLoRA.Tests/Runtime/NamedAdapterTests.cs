using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using OneLoRA.Methods.LoRA;
using OneLoRA.Methods.OneLoRA;
using OneLoRA.Serialization;
using OneLoRA.Tests.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Runtime;

/// <summary>fc1 (4→6) → tanh → fc2 (6→3) in float64, called through call() as third-party code does.</summary>
internal sealed class TwoLayerNet : nn.Module<Tensor, Tensor>
{
    public readonly Linear fc1;
    public readonly Linear fc2;

    public TwoLayerNet(int seed = 5) : base(nameof(TwoLayerNet))
    {
        fc1 = nn.Linear(4, 6, dtype: ScalarType.Float64);
        fc2 = nn.Linear(6, 3, dtype: ScalarType.Float64);
        RegisterComponents();
        this.Init(seed);
    }

    public override Tensor forward(Tensor x) => fc2.call(tanh(fc1.call(x)));
}

/// <summary>
/// Named adapters (PEFT's add_adapter, set_adapter, delete_adapter, disable_adapter, merge_and_unload, unload,
/// add_weighted_adapter, per-adapter save/load): outputs against an explicit float64 computation of (W0 + ΔW)·x + β0.
/// </summary>
public sealed class NamedAdapterTests
{
    private const double Tol = 1e-10;

    static NamedAdapterTests() => TorchRuntime.EnsureLoaded();

    private sealed class Fixture : IDisposable
    {
        public readonly TwoLayerNet Net = new();
        public readonly Tensor X;
        public readonly Tensor W1, B1, W2, B2;
        public readonly Tensor BaseOutput;

        public Fixture()
        {
            using var g = TestRng.Create(11);
            X = randn([5, 4], dtype: ScalarType.Float64, generator: g);
            W1 = Net.fc1.weight!.detach().clone();
            B1 = Net.fc1.bias!.detach().clone();
            W2 = Net.fc2.weight!.detach().clone();
            B2 = Net.fc2.bias!.detach().clone();
            using (no_grad()) BaseOutput = Net.call(X).detach().clone();
        }

        /// <summary>The explicit computation: tanh((W1 + d1)·x + b1) into (W2 + d2)·h + b2.</summary>
        public Tensor Reference(Tensor? d1, Tensor? d2)
        {
            var h = tanh(X.matmul((d1 is null ? W1 : W1 + d1).t()) + B1);
            return h.matmul((d2 is null ? W2 : W2 + d2).t()) + B2;
        }

        public Tensor Output()
        {
            using (no_grad()) return Net.call(X).detach().clone();
        }

        public void Dispose() => Net.Dispose();
    }

    private static LoRAMethod LoRA(int r, double alpha) => new(new PeftOptions { Method = "LoRA", Rank = r, Alpha = alpha });

    /// <summary>Fills every adapter parameter of <paramref name="attachment"/> with seeded noise (B is zeros at init); fixed buffers stay.</summary>
    private static void Fill(PeftAttachment attachment, long seed)
    {
        using var g = TestRng.Create(seed);
        using (no_grad())
            foreach (var l in attachment.Layers)
                foreach (var t in l.Adapter.parameters())
                    t.copy_(randn(t.shape, dtype: t.dtype, generator: g));
    }

    /// <summary>ΔW of a LoRA adapter from its values, in float64: s·B·A.</summary>
    private static Tensor Delta(PeftAttachment attachment, string path)
    {
        var a = (LoRAAdapter)attachment[path];
        return a.LoraB.detach().to(ScalarType.Float64).matmul(a.LoraA.detach().to(ScalarType.Float64)) * a.Scaling;
    }

    private static Tensor OneLoRADelta(PeftAttachment attachment, string path)
    {
        var a = (OneLoRAAdapter)attachment[path];
        return a.DecompressionVector.detach().unsqueeze(1).expand(a.OutFeatures, a.InFeatures).clone();
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tol = Tol)
    {
        Assert.Equal(expected.shape, actual.shape);
        var diff = (expected - actual).abs().max().item<double>();
        Assert.True(diff <= tol, $"max |difference| {diff:E3} > {tol:E1}");
    }

    private static void AssertBitIdentical(Tensor expected, Tensor actual) =>
        Assert.Equal(expected.data<double>().ToArray(), actual.contiguous().data<double>().ToArray());

    private static PeftAttachment AttachTwo(Fixture f, out PeftAttachment b)
    {
        var a = PeftModel.Attach(f.Net, LoRA(2, 4));
        b = f.Net.AddAdapter("b", LoRA(3, 3));
        Fill(a, 1);
        Fill(b, 2);
        return a;
    }

    [Fact]
    public void The_first_adapter_is_default_and_an_added_one_starts_inactive()
    {
        using var f = new Fixture();
        var a = AttachTwo(f, out var b);
        var set = f.Net.AdapterSet();
        Assert.Equal(["default", "b"], set.Names);
        Assert.Equal(["default"], set.ActiveAdapters);
        Assert.Equal("default", a.Name);
        Assert.True(a.IsActive);
        Assert.False(b.IsActive);
        Assert.Same(a, f.Net.Adapters());
        Assert.All(b.Layers.SelectMany(l => l.Adapter.parameters()), p => Assert.False(p.requires_grad));
        AssertClose(f.Reference(Delta(a, "fc1"), Delta(a, "fc2")), f.Output());
        // The default adapter keeps its module names; the added one carries its name.
        var names = f.Net.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("fc1_lora.A", names);
        Assert.Contains("fc1_lora_b.A", names);
    }

    [Fact]
    public void SetAdapter_switches_and_several_active_adapters_add()
    {
        using var f = new Fixture();
        var a = AttachTwo(f, out var b);
        f.Net.SetAdapter("b");
        Assert.Same(b, f.Net.Adapters());
        AssertClose(f.Reference(Delta(b, "fc1"), Delta(b, "fc2")), f.Output());

        f.Net.SetAdapter(["default", "b"]);
        Assert.Equal(["default", "b"], f.Net.AdapterSet().ActiveAdapters);
        AssertClose(f.Reference(Delta(a, "fc1") + Delta(b, "fc1"), Delta(a, "fc2") + Delta(b, "fc2")), f.Output());

        f.Net.SetAdapter("default");
        AssertClose(f.Reference(Delta(a, "fc1"), Delta(a, "fc2")), f.Output());
    }

    [Fact]
    public void Unknown_duplicate_and_malformed_names_are_refused_by_name()
    {
        using var f = new Fixture();
        AttachTwo(f, out _);
        var set = f.Net.AdapterSet();
        Assert.Contains("'nope'", Assert.Throws<ArgumentException>(() => set.SetAdapter("nope")).Message);
        Assert.Contains("'nope'", Assert.Throws<ArgumentException>(() => set.DeleteAdapter("nope")).Message);
        Assert.Contains("'b' already exists", Assert.Throws<ArgumentException>(() => set.AddAdapter("b", LoRA(1, 1))).Message);
        Assert.Contains("'x.y'", Assert.Throws<ArgumentException>(() => set.AddAdapter("x.y", LoRA(1, 1))).Message);
        Assert.Throws<ArgumentException>(() => set.SetAdapter(Array.Empty<string>()));
        Assert.Equal(["default", "b"], set.Names);
        Assert.Equal(["default"], set.ActiveAdapters);
    }

    [Fact]
    public void DisableAdapters_gives_the_base_output_and_restores_after_also_on_exception()
    {
        using var f = new Fixture();
        var a = AttachTwo(f, out _);
        var adapted = f.Reference(Delta(a, "fc1"), Delta(a, "fc2"));
        using (f.Net.DisableAdapters())
        {
            Assert.True(f.Net.AdapterSet().IsDisabled);
            AssertBitIdentical(f.BaseOutput, f.Output());
        }
        AssertClose(adapted, f.Output());

        void Throwing()
        {
            using (f.Net.DisableAdapters())
            {
                AssertBitIdentical(f.BaseOutput, f.Output());
                throw new InvalidOperationException("inside");
            }
        }
        Assert.Throws<InvalidOperationException>(Throwing);
        Assert.False(f.Net.AdapterSet().IsDisabled);
        AssertClose(adapted, f.Output());
    }

    [Fact]
    public void DisableAdapters_on_a_merged_model_unmerges_for_the_block()
    {
        using var f = new Fixture();
        var a = AttachTwo(f, out _);
        var adapted = f.Reference(Delta(a, "fc1"), Delta(a, "fc2"));
        a.Merge();
        using (f.Net.DisableAdapters())
            AssertClose(f.BaseOutput, f.Output(), 1e-12);
        Assert.True(a.IsMerged);
        AssertClose(adapted, f.Output());
    }

    [Fact]
    public void DeleteAdapter_removes_its_modules_and_refuses_the_last_one()
    {
        using var f = new Fixture();
        var a = AttachTwo(f, out var b);
        f.Net.SetAdapter("b");
        f.Net.DeleteAdapter("b");
        Assert.False(b.IsAttached);
        Assert.Equal(["default"], f.Net.AdapterSet().Names);
        // The deleted adapter was the active one: the remaining one is active and trainable again.
        Assert.Equal(["default"], f.Net.AdapterSet().ActiveAdapters);
        Assert.All(a.Layers.SelectMany(l => l.Adapter.parameters()), p => Assert.True(p.requires_grad));
        Assert.DoesNotContain(f.Net.named_parameters(), p => p.name.Contains("_lora_b"));
        AssertClose(f.Reference(Delta(a, "fc1"), Delta(a, "fc2")), f.Output());
        var e = Assert.Throws<InvalidOperationException>(() => f.Net.DeleteAdapter("default"));
        Assert.Contains("'default'", e.Message);
        Assert.Contains("only adapter", e.Message);
    }

    [Fact]
    public void A_deleted_adapter_cannot_be_saved_loaded_or_merged_and_nothing_is_written()
    {
        using var f = new Fixture();
        using var dir = new TempDirectory();
        var a = AttachTwo(f, out var b);
        var kept = Path.Combine(dir.Path, "kept");
        f.Net.AdapterSet().Save(kept);   // both adapters, while b exists
        f.Net.DeleteAdapter("b");
        var before = f.Output();

        var target = Path.Combine(dir.Path, "after-delete");
        var save = Assert.Throws<InvalidOperationException>(() => b.Save(target, "b"));
        Assert.Contains("'b'", save.Message);
        Assert.Contains("saved", save.Message);
        Assert.False(Directory.Exists(target));
        var load = Assert.Throws<InvalidOperationException>(() => b.Load(kept, "b"));
        Assert.Contains("'b'", load.Message);
        Assert.Contains("loaded", load.Message);
        Assert.Contains("'b'", Assert.Throws<InvalidOperationException>(() => b.Merge()).Message);
        AssertClose(before, f.Output(), 0);
        AssertClose(f.Reference(Delta(a, "fc1"), Delta(a, "fc2")), f.Output());
    }

    [Fact]
    public void MergeAndUnload_leaves_a_plain_model_with_the_merged_outputs()
    {
        using var f = new Fixture();
        var a = AttachTwo(f, out var b);
        f.Net.SetAdapter(["default", "b"]);
        var expected = f.Reference(Delta(a, "fc1") + Delta(b, "fc1"), Delta(a, "fc2") + Delta(b, "fc2"));
        var plain = f.Net.MergeAndUnload();
        Assert.Same(f.Net, plain);
        Assert.Null(Peft.AttachmentFor(f.Net));
        Assert.Null(Peft.AdapterFor(f.Net.fc1));
        Assert.Equal(["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"], f.Net.named_parameters().Select(p => p.name).Order(StringComparer.Ordinal));
        AssertClose(expected, f.Output());
        AssertClose(f.W1 + Delta(a, "fc1") + Delta(b, "fc1"), f.Net.fc1.weight!.detach());
        // A plain model takes adapters again.
        PeftModel.Attach(f.Net, LoRA(1, 1));
    }

    [Fact]
    public void Unload_gives_the_base_model_bit_for_bit()
    {
        using var f = new Fixture();
        AttachTwo(f, out _);
        f.Net.SetAdapter(["default", "b"]);
        f.Net.Unload();
        Assert.Null(Peft.AttachmentFor(f.Net));
        Assert.Equal(["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"], f.Net.named_parameters().Select(p => p.name).Order(StringComparer.Ordinal));
        AssertBitIdentical(f.BaseOutput, f.Output());
        AssertBitIdentical(f.W1, f.Net.fc1.weight!.detach());
    }

    [Fact]
    public void Cat_combination_is_exactly_the_weighted_sum_of_the_deltas()
    {
        using var f = new Fixture();
        var a = AttachTwo(f, out var b);
        var mix = f.Net.AddWeightedAdapter(["default", "b"], [0.7, -1.3], "mix", "cat");
        Assert.False(mix.IsActive);
        Assert.Equal(5, ((LoRAAdapter)mix["fc1"]).Rank);
        Assert.Equal(1.0, ((LoRAAdapter)mix["fc1"]).Scaling);
        f.Net.SetAdapter("mix");
        AssertClose(f.Reference(0.7 * Delta(a, "fc1") - 1.3 * Delta(b, "fc1"), 0.7 * Delta(a, "fc2") - 1.3 * Delta(b, "fc2")), f.Output());
    }

    [Fact]
    public void Linear_combination_of_LoRA_is_PEFTs_approximate_rule()
    {
        using var f = new Fixture();
        var a = PeftModel.Attach(f.Net, LoRA(2, 4));
        var b = f.Net.AddAdapter("b", LoRA(2, 1));
        Fill(a, 1);
        Fill(b, 2);
        double[] w = [0.5, 2.0];
        f.Net.AddWeightedAdapter(["default", "b"], w, "mix", "linear");
        f.Net.SetAdapter("mix");
        // PEFT: A = Σ √(w_i s_i)·A_i, B = Σ √(w_i s_i)·B_i, scaling 1; computed here from the source values.
        Tensor Peft(string path)
        {
            var (la, lb) = ((LoRAAdapter)a[path], (LoRAAdapter)b[path]);
            double fa = Math.Sqrt(w[0] * la.Scaling), fb = Math.Sqrt(w[1] * lb.Scaling);
            var bm = fa * la.LoraB.detach() + fb * lb.LoraB.detach();
            var am = fa * la.LoraA.detach() + fb * lb.LoraA.detach();
            return bm.matmul(am);
        }
        AssertClose(f.Reference(Peft("fc1"), Peft("fc2")), f.Output());
        // Not the weighted sum of the deltas: the cross terms stay.
        var exact = f.Reference(w[0] * Delta(a, "fc1") + w[1] * Delta(b, "fc1"), w[0] * Delta(a, "fc2") + w[1] * Delta(b, "fc2"));
        Assert.True((exact - f.Output()).abs().max().item<double>() > 1e-3);
    }

    [Fact]
    public void Linear_combination_of_1LoRA_is_exact()
    {
        using var f = new Fixture();
        var a = PeftModel.Attach(f.Net, new OneLoRAMethod());
        var b = f.Net.AddAdapter("b", new OneLoRAMethod());
        Fill(a, 1);
        Fill(b, 2);
        f.Net.AddWeightedAdapter(["default", "b"], [0.5, -2.0], "mix", "linear");
        f.Net.SetAdapter("mix");
        AssertClose(f.Reference(0.5 * OneLoRADelta(a, "fc1") - 2 * OneLoRADelta(b, "fc1"), 0.5 * OneLoRADelta(a, "fc2") - 2 * OneLoRADelta(b, "fc2")), f.Output());
    }

    [Fact]
    public void Linear_combination_of_1LoRA_needs_the_same_compression_vectors()
    {
        using var f = new Fixture();
        PeftOptions Random(long seed) => new() { Method = "OneLoRA", RandomCompression = true, CompressionSeed = seed };
        var a = PeftModel.Attach(f.Net, new OneLoRAMethod(Random(7)));
        var same = f.Net.AddAdapter("same", new OneLoRAMethod(Random(7)));
        f.Net.AddAdapter("other", new OneLoRAMethod(Random(8)));
        Fill(a, 1);
        Fill(same, 2);
        var e = Assert.Throws<ArgumentException>(() => f.Net.AddWeightedAdapter(["default", "other"], [1, 1], "m", "linear"));
        Assert.Contains("different vectors", e.Message);
        f.Net.AddWeightedAdapter(["default", "same"], [1.5, 0.25], "mix", "linear");
        f.Net.SetAdapter("mix");
        // ΔW = b·vᵀ with the layer's fixed v: (1.5·b_a + 0.25·b_s)·vᵀ.
        Tensor D(string path)
        {
            var (la, ls) = ((OneLoRAAdapter)a[path], (OneLoRAAdapter)same[path]);
            return outer(1.5 * la.DecompressionVector.detach() + 0.25 * ls.DecompressionVector.detach(), la.CompressionVector!);
        }
        AssertClose(f.Reference(D("fc1"), D("fc2")), f.Output());
    }

    [Fact]
    public void Unsupported_combinations_are_refused_with_the_reason()
    {
        using var f = new Fixture();
        AttachTwo(f, out _);
        var set = f.Net.AdapterSet();
        Assert.Contains("equal ranks", Assert.Throws<ArgumentException>(() => set.AddWeightedAdapter(["default", "b"], [1, 1], "m", "linear")).Message);
        Assert.Contains("'svd'", Assert.Throws<ArgumentException>(() => set.AddWeightedAdapter(["default", "b"], [1, 1], "m", "svd")).Message);
        Assert.Contains("one weight per adapter", Assert.Throws<ArgumentException>(() => set.AddWeightedAdapter(["default", "b"], [1], "m", "cat")).Message);
        Assert.Contains("'zzz'", Assert.Throws<ArgumentException>(() => set.AddWeightedAdapter(["default", "zzz"], [1, 1], "m", "cat")).Message);
        Assert.Equal(["default", "b"], set.Names);
    }

    [Fact]
    public void An_optimizer_built_before_the_switch_leaves_the_old_adapter_bit_identical()
    {
        using var f = new Fixture();
        var a = AttachTwo(f, out var b);
        using var g = TestRng.Create(3);
        var target = randn([5, 3], dtype: ScalarType.Float64, generator: g);
        var trainableA = f.Net.TrainableParameters().ToList();
        Assert.Equal(a.Layers.SelectMany(l => l.Adapter.parameters()).Select(p => p.Handle).Order(), trainableA.Select(p => p.Handle).Order());
        using var optimizer = optim.Adam(trainableA, lr: 0.05);
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.mse_loss(f.Net.call(f.X), target).backward();
            optimizer.step();
        }
        var aValues = a.Layers.SelectMany(l => l.Adapter.parameters()).Select(p => p.detach().clone()).ToList();

        f.Net.SetAdapter("b");
        Assert.All(a.Layers.SelectMany(l => l.Adapter.parameters()), p => { Assert.False(p.requires_grad); Assert.Null(p.grad); });
        var trainableB = f.Net.TrainableParameters().ToList();
        Assert.Equal(b.Layers.SelectMany(l => l.Adapter.parameters()).Select(p => p.Handle).Order(), trainableB.Select(p => p.Handle).Order());
        var bBefore = trainableB.Select(p => p.detach().clone()).ToList();
        using var optimizerB = optim.Adam(trainableB, lr: 0.05);
        for (int step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            optimizerB.zero_grad();
            nn.functional.mse_loss(f.Net.call(f.X), target).backward();
            // The stale optimizer still holds A (with Adam moments): it must not move it.
            optimizer.step();
            optimizerB.step();
        }
        var aAfter = a.Layers.SelectMany(l => l.Adapter.parameters()).ToList();
        for (int i = 0; i < aValues.Count; i++) AssertBitIdentical(aValues[i], aAfter[i].detach());
        Assert.Contains(trainableB.Zip(bBefore), pair => !pair.First.detach().eq(pair.Second).all().item<bool>());

        // Switching back makes A trainable again.
        f.Net.SetAdapter("default");
        Assert.All(a.Layers.SelectMany(l => l.Adapter.parameters()), p => Assert.True(p.requires_grad));
        Assert.All(b.Layers.SelectMany(l => l.Adapter.parameters()), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void AddAdapter_refuses_a_method_that_trains_model_parameters()
    {
        using var f = new Fixture();
        PeftModel.Attach(f.Net, LoRA(1, 1));
        var e = Assert.Throws<InvalidOperationException>(() =>
            f.Net.AddAdapter("b", new PeftOptions { Method = "LoRA", TrainBiases = true }));
        Assert.Contains("'b'", e.Message);
        Assert.Equal(["default"], f.Net.AdapterSet().Names);
    }

    [Fact]
    public void Save_writes_default_at_the_root_and_others_in_subfolders_and_LoadAdapter_reads_them()
    {
        using var dir = new TempDirectory();
        Tensor expectedB;
        using (var f = new Fixture())
        {
            AttachTwo(f, out _);
            f.Net.AdapterSet().Save(dir.Path);
            f.Net.SetAdapter("b");
            expectedB = f.Output();
        }
        Assert.True(File.Exists(dir.File(AdapterFiles.ConfigFileName)));
        Assert.True(File.Exists(Path.Combine(dir.Path, "b", AdapterFiles.ConfigFileName)));
        Assert.True(File.Exists(Path.Combine(dir.Path, "b", AdapterFiles.WeightsFileName)));

        using var g = new Fixture();
        PeftModel.FromPretrained(g.Net, dir.Path);
        var loaded = g.Net.LoadAdapter(dir.Path, "b");
        Assert.Equal(3, ((LoRAAdapter)loaded["fc1"]).Rank);
        Assert.False(loaded.IsActive);
        g.Net.SetAdapter("b");
        // isTrainable false (PEFT's default): frozen also once active.
        Assert.All(loaded.Layers.SelectMany(l => l.Adapter.parameters()), p => Assert.False(p.requires_grad));
        AssertBitIdentical(expectedB, g.Output());

        // A failed load leaves the model as it was.
        Assert.Throws<FileNotFoundException>(() => g.Net.LoadAdapter(dir.Path, "missing"));
        Assert.Equal(["default", "b"], g.Net.AdapterSet().Names);
    }

    [Fact]
    public void A_FromPretrained_whose_tensors_do_not_fit_leaves_the_model_as_it_was()
    {
        using var dir = new TempDirectory();
        using (var f = new Fixture())
        {
            PeftModel.Attach(f.Net, LoRA(2, 2)).Save(dir.Path);
        }
        var configPath = dir.File(AdapterFiles.ConfigFileName);
        var config = File.ReadAllText(configPath);
        Assert.Contains("\"r\": 2", config);
        File.WriteAllText(configPath, config.Replace("\"r\": 2", "\"r\": 3"));   // rank-3 adapters, rank-2 tensors

        using var g = new Fixture();
        g.Net.fc2.weight!.requires_grad = true;
        var before = g.Net.named_parameters().Select(p => (p.name, p.parameter.requires_grad)).ToList();
        Assert.Throws<AdapterLoadException>(() => PeftModel.FromPretrained(g.Net, dir.Path));
        Assert.Null(Peft.AttachmentFor(g.Net));
        Assert.Equal(before, g.Net.named_parameters().Select(p => (p.name, p.parameter.requires_grad)).ToList());
        AssertBitIdentical(g.BaseOutput, g.Output());
        PeftModel.Attach(g.Net, LoRA(1, 1));   // and it takes adapters again
    }

    [Fact]
    public void A_Sequential_root_unloads_to_itself()
    {
        using var g = TestRng.Create(4);
        var seq = nn.Sequential(("fc1", nn.Linear(4, 6, dtype: ScalarType.Float64)), ("act", nn.Tanh()), ("fc2", nn.Linear(6, 3, dtype: ScalarType.Float64))).Init(g);
        var x = randn([2, 4], dtype: ScalarType.Float64, generator: g);
        Tensor before;
        using (no_grad()) before = seq.call(x).clone();
        var a = PeftModel.Attach(seq, LoRA(1, 1));
        var b = a.Set.AddAdapter("b", LoRA(2, 2));
        Fill(a, 1);
        Fill(b, 2);
        a.Set.SetAdapter("b");
        var plain = a.Set.Unload();
        Assert.Same(seq, plain);
        using (no_grad()) AssertBitIdentical(before, seq.call(x));
    }
}
