using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA.Targeting;
using OneLoRA.Tests.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Runtime;

/// <summary>A transformers-shaped stack: <c>model.layers.{i}.q</c>, <c>model.layers.{i}.k</c>, and a <c>head</c>; plus a root <c>q</c>.</summary>
internal sealed class LayeredNet : nn.Module<Tensor, Tensor>
{
    internal sealed class Block : nn.Module<Tensor, Tensor>
    {
        public readonly Linear q;
        public readonly Linear k;

        public Block() : base(nameof(Block))
        {
            q = nn.Linear(4, 4);
            k = nn.Linear(4, 4);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => k.call(q.call(x).tanh());
    }

    internal sealed class Stack : nn.Module<Tensor, Tensor>
    {
        public readonly ModuleList<Block> layers;

        public Stack() : base(nameof(Stack))
        {
            layers = nn.ModuleList(new Block(), new Block(), new Block());
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            foreach (var b in layers) x = b.call(x);
            return x;
        }
    }

    public readonly Linear q;
    public readonly Stack model;
    public readonly Linear head;

    public LayeredNet() : base(nameof(LayeredNet))
    {
        q = nn.Linear(4, 4);
        model = new Stack();
        head = nn.Linear(4, 2);
        RegisterComponents();
        using var g = new Generator(4, device: CPU);
        using (no_grad())
            foreach (var p in parameters())
                p.copy_(randn(p.shape, generator: g));
    }

    public override Tensor forward(Tensor x) => head.call(model.call(q.call(x)));

    public Tensor Output()
    {
        using var g = new Generator(8, device: CPU);
        using var x = randn([3, 4], generator: g);
        using (no_grad()) return call(x);
    }
}

public sealed class PeftTargetsTests : IDisposable
{
    private readonly TempDirectory dir = new();

    static PeftTargetsTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => dir.Dispose();

    private static readonly string[] Paths =
        ["q", "model.layers.0.q", "model.layers.0.k", "model.layers.1.q", "model.layers.1.k", "model.layers.2.q", "model.layers.2.k", "head"];

    private static string[] Selected(PeftTargets rule) => Paths.Where(rule.Selects).ToArray();

    [Fact]
    public void Lists_match_the_whole_path_or_a_dotted_suffix_regexes_the_whole_path()
    {
        Assert.Equal(["q", "model.layers.0.q", "model.layers.1.q", "model.layers.2.q"], Selected(PeftTargets.Create(["q"], false, [], false, [], [], [])));
        Assert.Equal(["model.layers.1.q"], Selected(PeftTargets.Create(["layers.1.q"], false, [], false, [], [], [])));
        // A regex must match the whole path: "q" alone is not a match for "model.layers.0.q".
        Assert.Equal(["q"], Selected(PeftTargets.Create(["q"], true, [], false, [], [], [])));
        Assert.Equal(["model.layers.0.k", "model.layers.2.k"], Selected(PeftTargets.Create([@".*\.[02]\.k"], true, [], false, [], [], [])));
        Assert.Equal(Paths, Selected(PeftTargets.Create(["all-linear"], true, [], false, [], [], [])));
    }

    [Fact]
    public void Exclude_modules_and_modules_to_save_are_never_targets()
    {
        var all = PeftTargets.Create(["all-linear"], true, ["k"], false, ["head"], [], []);
        Assert.Equal(["q", "model.layers.0.q", "model.layers.1.q", "model.layers.2.q"], Selected(all));
        var regexExclude = PeftTargets.Create(["q", "k"], false, [@"model\.layers\.[01]\..*"], true, [], [], []);
        Assert.Equal(["q", "model.layers.2.q", "model.layers.2.k"], Selected(regexExclude));
        Assert.True(all.IsModuleToSave("head"));
        Assert.True(all.IsModuleToSave("outer.head"));
        Assert.False(all.IsModuleToSave("header"));
    }

    [Fact]
    public void Layers_to_transform_need_a_dotted_prefix_before_the_layer_list_as_in_PEFT()
    {
        // As in PEFT, a path equal to a list entry (the root "q") is targeted whatever layers_to_transform says.
        Assert.Equal(["q", "model.layers.0.q", "model.layers.2.q"], Selected(PeftTargets.Create(["q"], false, [], false, [], [0, 2], [])));
        Assert.Equal(["q", "model.layers.1.q", "model.layers.1.k"], Selected(PeftTargets.Create(["q", "k"], false, [], false, [], [1], ["layers"])));
        Assert.Equal(["q"], Selected(PeftTargets.Create(["q"], false, [], false, [], [1], ["blocks"])));
        // A root-level list has no dot before its name: PEFT finds no layer index there, so nothing is targeted.
        var root = PeftTargets.Create(["fc"], false, [], false, [], [0], []);
        Assert.False(root.Selects("blocks.0.fc"));
        Assert.True(root.Selects("encoder.blocks.0.fc"));
    }

    [Fact]
    public void Rank_pattern_takes_the_first_key_matching_a_dotted_suffix()
    {
        var patterns = new[] { new System.Collections.Generic.KeyValuePair<string, int>(@"layers\.1\.q", 5), new("q", 3) };
        Assert.Equal(5, PeftPatterns.Lookup(patterns, "model.layers.1.q"));
        Assert.Equal(3, PeftPatterns.Lookup(patterns, "model.layers.0.q"));
        Assert.Equal(3, PeftPatterns.Lookup(patterns, "q"));
        Assert.Null(PeftPatterns.Lookup(patterns, "model.layers.0.qq"));
        var o = new PeftOptions { Rank = 2, Alpha = 4, RankPattern = new() { ["k"] = 8 }, AlphaPattern = new() { ["head"] = 1 } };
        Assert.Equal((8, 0.5), (o.RankFor("model.layers.0.k"), LowRankMethod.ScalingFor(o, "model.layers.0.k")));
        Assert.Equal((2, 0.5), (o.RankFor("head"), LowRankMethod.ScalingFor(o, "head")));
        Assert.Equal((2, 2.0), (o.RankFor("q"), LowRankMethod.ScalingFor(o, "q")));
    }

    [Fact]
    public void Runtime_attach_takes_all_linear_regex_layers_to_transform_and_modules_to_save()
    {
        using var net = new LayeredNet();
        var s = PeftModel.Select(net, new PeftOptions { Targets = "q;k", LayersToTransform = [2], LayersPattern = "layers" });
        Assert.Equal(["q", "model.layers.2.q", "model.layers.2.k"], s.Layers.Select(l => l.Path));
        Assert.Equal(["model.layers.0.q", "model.layers.1.q"], PeftModel.Select(net, new PeftOptions { Targets = "*.q", LayersToTransform = [0, 1] }).Layers.Select(l => l.Path));
        Assert.Equal(["model.layers.0.k", "model.layers.2.k"], PeftModel.Select(net, new PeftOptions { Targets = @"regex:model\.layers\.[02]\.k" }).Layers.Select(l => l.Path));
        var attachment = PeftModel.Attach(net, new PeftOptions { Method = "OneLoRA", Targets = "all-linear", ModulesToSave = "head" });
        Assert.Equal(7, attachment.Layers.Count);
        Assert.DoesNotContain(attachment.Layers, l => l.Path == "head");
        Assert.Equal(["head.bias", "head.weight"], attachment.ExtraTrainable.Select(e => e.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_target_list_PEFT_would_widen_is_saved_as_an_exact_regex()
    {
        using var source = new LayeredNet();
        var saved = PeftModel.Attach(source, new PeftOptions { Method = "OneLoRA", Targets = "q", Exclude = "model.*" });
        Assert.Equal(["q"], saved.Layers.Select(l => l.Path));
        AdapterValues.Randomize(saved);
        using var expected = source.Output();
        source.SaveAdapters(dir.Path);

        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName))))
            Assert.Equal("q", config.RootElement.GetProperty("target_modules").GetString());
        using var target = new LayeredNet();
        var loaded = PeftModel.FromPretrained(target, dir.Path);
        Assert.Equal(["q"], loaded.Layers.Select(l => l.Path));
        Assert.True(target.Output().eq(expected).all().item<bool>());
    }

    [Fact]
    public void ReadOptions_then_runtime_attach_selects_what_FromPretrained_selects_and_loads()
    {
        using var source = new LayeredNet();
        var saved = PeftModel.Attach(source, new PeftOptions { Method = "LoRA", Rank = 2, Targets = "*.q;*.k", LayersToTransform = [0, 1], LayersPattern = "layers", RankPattern = new() { ["k"] = 1 } });
        Assert.Equal(4, saved.Layers.Count);
        AdapterValues.Randomize(saved);
        using var expected = source.Output();
        source.SaveAdapters(dir.Path);

        using var viaOptions = new LayeredNet();
        PeftModel.Attach(viaOptions, AdapterFiles.ReadOptions(dir.Path));
        viaOptions.LoadAdapters(dir.Path);
        using var viaFromPretrained = new LayeredNet();
        var loaded = PeftModel.FromPretrained(viaFromPretrained, dir.Path);

        Assert.Equal(saved.Layers.Select(l => l.Path), loaded.Layers.Select(l => l.Path));
        Assert.Equal(saved.Layers.Select(l => l.Path), viaOptions.Adapters().Layers.Select(l => l.Path));
        Assert.True(viaOptions.Output().eq(expected).all().item<bool>());
        Assert.True(viaFromPretrained.Output().eq(expected).all().item<bool>());
    }
}
