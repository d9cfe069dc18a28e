using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using OneLoRA.Methods.OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Generators.Tests;

/// <summary>
/// User code + generated code compiled in memory against real TorchSharp and the runtime, loaded and run.
/// Expected outputs are computed here in float64 from the layers' weights and an explicit ΔW = b·1ᵀ.
/// </summary>
public class CompileAndRunTests
{
    private const string Source = """
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace RunTest;

        [Peft(Method.OneLoRA)]
        public partial class Block : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc;

            public Block(int dim) : base(nameof(Block))
            {
                fc = nn.Linear(dim, dim);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => tanh(fc.forward(x));
        }

        [Peft(Method.OneLoRA)]
        public partial class Net : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc1;
            private readonly Linear fc2;
            private readonly ModuleList<Linear> layers;
            private readonly ModuleList<Block> blocks;
            [NoPeft] private readonly Linear gate;

            public Net() : base(nameof(Net))
            {
                fc1 = nn.Linear(3, 4);
                fc2 = nn.Linear(4, 4);
                layers = new ModuleList<Linear>(nn.Linear(4, 4), nn.Linear(4, 4));
                blocks = new ModuleList<Block>(new Block(4), new Block(4));
                gate = nn.Linear(4, 2);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var h = tanh(fc1.forward(x));
                h = tanh(this.fc2.call(h));
                for (int i = 0; i < layers.Count; i++)
                    h = tanh(layers[i].forward(h));
                foreach (var block in blocks)
                    h = block.call(h);
                return gate.forward(h);
            }
        }
        """;

    private static readonly Lazy<Assembly> Compiled = new(CompileUserAssembly);

    private static Assembly CompileUserAssembly()
    {
        var (_, result, output) = TestCompilation.Run(TestCompilation.Create(("Net.cs", Source)));
        Assert.All(result.Results, r => Assert.Null(r.Exception));
        using var image = new MemoryStream();
        var emit = output.Emit(image);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics));
        image.Position = 0;
        // Collectible context; TorchSharp and OneLoRA resolve to the test's own copies (default context fallback).
        return new AssemblyLoadContext("generated-user-code", isCollectible: true).LoadFromStream(image);
    }

    /// <summary>A new Net whose parameters come from <paramref name="g"/> (never the global RNG: test classes run in parallel).</summary>
    private static nn.Module<Tensor, Tensor> NewNet(Generator g)
    {
        var net = (nn.Module<Tensor, Tensor>)Activator.CreateInstance(Compiled.Value.GetType("RunTest.Net", throwOnError: true)!)!;
        InitParameters(net, g);
        return net;
    }

    /// <summary>U(-0.5, 0.5) for every parameter, drawn from <paramref name="g"/>.</summary>
    internal static void InitParameters(nn.Module net, Generator g)
    {
        using var _ = no_grad();
        foreach (var p in net.parameters())
            p.copy_(rand(p.shape, generator: g) - 0.5);
    }

    private static object? Invoke(object target, string method, params object[] args) =>
        target.GetType().GetMethod(method, args.Select(a => a.GetType() == typeof(OneLoRAMethod) ? typeof(IPeftMethod) : a.GetType()).ToArray())!
            .Invoke(target, args);

    /// <summary>The model's forward recomputed in float64: W' = W + b·1ᵀ for adapted layers (b = 0 otherwise).</summary>
    private static Tensor Reference(nn.Module net, Tensor x, PeftAttachment? attachment) =>
        ReferenceAll(net, x, attachment is null ? [] : [attachment]);

    /// <summary>As above with several active adapters: W' = W + Σ b_i·1ᵀ.</summary>
    private static Tensor ReferenceAll(nn.Module net, Tensor x, PeftAttachment[] attachments)
    {
        var modules = net.named_modules().ToDictionary(m => m.name, m => m.module);
        Tensor Apply(string path, Tensor h)
        {
            var layer = (Linear)modules[path];
            var w = layer.weight!.detach().to(float64);
            foreach (var attachment in attachments)
                if (attachment.Layers.FirstOrDefault(l => l.Path == path) is { } adapted)
                {
                    var b = ((OneLoRAAdapter)adapted.Adapter).DecompressionVector.detach().to(float64);
                    w = w + b.unsqueeze(1) * ones(1, w.shape[1], dtype: float64);
                }
            return h.matmul(w.t()) + layer.bias!.detach().to(float64);
        }
        using var _ = no_grad();
        var h = tanh(Apply("fc1", x.to(float64)));
        h = tanh(Apply("fc2", h));
        h = tanh(Apply("layers.0", h));
        h = tanh(Apply("layers.1", h));
        h = tanh(Apply("blocks.0.fc", h));
        h = tanh(Apply("blocks.1.fc", h));
        return Apply("gate", h);
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        var diff = (expected.to(float64) - actual.to(float64)).abs().max().item<double>();
        Assert.True(diff <= tolerance, $"max |difference| {diff:G3} > {tolerance:G3}");
    }

    [Fact]
    public void AttachCollectsAdaptedLayersWithPathsAndStartsAtTheBaseOutput()
    {
        using var g = new Generator(1);
        var net = NewNet(g);
        var x = randn(5, 3, generator: g);
        var baseline = net.forward(x).detach();
        AssertClose(Reference(net, x, null), baseline, 1e-5);

        var attachment = (PeftAttachment)Invoke(net, "AttachAdapters")!;

        Assert.Equal(["fc1", "fc2", "layers.0", "layers.1", "blocks.0.fc", "blocks.1.fc"], attachment.Layers.Select(l => l.Path));
        var table = ((IPeftModule)net).PeftLayers;
        Assert.Equal(["fc1", "fc2", "layers", "blocks"], table.Select(t => t.MemberName));
        Assert.True(table[3].IsNestedPeftModule);
        Assert.Equal("OneLoRA", ((IPeftModule)net).DefaultPeftOptions.Method);
        Assert.Equal(4 * 6, net.TrainableParameters().Sum(p => p.numel()));
        // b = 0 at init: the adapted model is exactly the base model.
        Assert.True(baseline.eq(net.forward(x).detach()).all().item<bool>());
    }

    [Fact]
    public void ForwardAndCallSitesGoThroughTheAdapters()
    {
        using var g = new Generator(2);
        var net = NewNet(g);
        var attachment = (PeftAttachment)Invoke(net, "AttachAdapters", new OneLoRAMethod())!;
        using (no_grad())
            foreach (var l in attachment.Layers)
                ((OneLoRAAdapter)l.Adapter).DecompressionVector.copy_(randn(l.Layer.out_features, generator: g) * 0.5);

        var x = randn(6, 3, generator: g);
        var withAdapters = net.forward(x).detach();
        // Any site not routed through its adapter (forward skips hooks) would leave its b out of the result.
        AssertClose(Reference(net, x, attachment), withAdapters, 1e-5);
        var withoutAdapters = Reference(net, x, null);
        Assert.True((withoutAdapters - withAdapters.to(float64)).abs().max().item<double>() > 1e-2);
    }

    [Fact]
    public void OneOptimizerStepChangesTheOutputAndMergedEqualsUnmerged()
    {
        using var g = new Generator(3);
        var net = NewNet(g);
        var x = randn(8, 3, generator: g);
        var target = randn(8, 2, generator: g);
        var baseline = net.forward(x).detach();
        var weightsBefore = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        Invoke(net, "AttachAdapters");
        var optimizer = optim.AdamW(net.TrainableParameters(), lr: 0.05);
        optimizer.zero_grad();
        nn.functional.mse_loss(net.forward(x), target).backward();
        optimizer.step();

        var trained = net.forward(x).detach();
        Assert.True((trained - baseline).abs().max().item<float>() > 1e-3, "one AdamW step must change the adapted output");

        Invoke(net, "MergeAdapters");
        Assert.True(net.Adapters().IsMerged);
        AssertClose(trained, net.forward(x).detach(), 1e-5);

        Invoke(net, "UnmergeAdapters");
        Assert.False(net.Adapters().IsMerged);
        AssertClose(trained, net.forward(x).detach(), 1e-5);
        foreach (var (name, p) in net.named_parameters().Where(p => weightsBefore.ContainsKey(p.name)))
            AssertClose(weightsBefore[name], p, 1e-6);
    }

    [Fact]
    public void GeneratedModelSwitchesNamedAdaptersThroughTheRuntime()
    {
        using var g = new Generator(6);
        var net = NewNet(g);
        var a = (PeftAttachment)Invoke(net, "AttachAdapters", new OneLoRAMethod())!;
        var b = net.AddAdapter("b", new OneLoRAMethod());
        Assert.Equal(a.Layers.Select(l => l.Path), b.Layers.Select(l => l.Path));
        using (no_grad())
            foreach (var l in a.Layers.Concat(b.Layers))
                ((OneLoRAAdapter)l.Adapter).DecompressionVector.copy_(randn(l.Layer.out_features, generator: g) * 0.5);
        var x = randn(6, 3, generator: g);

        // Intercepted forward()/call() sites and the nested blocks all see the active adapter.
        AssertClose(Reference(net, x, a), net.forward(x).detach(), 1e-5);
        net.SetAdapter("b");
        AssertClose(Reference(net, x, b), net.forward(x).detach(), 1e-5);
        // The optimizer sees b's vectors only.
        Assert.Equal(b.Layers.Select(l => ((OneLoRAAdapter)l.Adapter).DecompressionVector.Handle).Order(), net.TrainableParameters().Select(p => p.Handle).Order());
        net.SetAdapter(["default", "b"]);
        var both = ReferenceAll(net, x, [a, b]);
        AssertClose(both, net.forward(x).detach(), 1e-5);

        // Generated MergeAdapters merges every active adapter.
        Invoke(net, "MergeAdapters");
        Assert.True(a.IsMerged && b.IsMerged);
        AssertClose(both, net.forward(x).detach(), 1e-5);
        Invoke(net, "UnmergeAdapters");

        using (net.DisableAdapters())
            AssertClose(Reference(net, x, null), net.forward(x).detach(), 1e-5);
        net.Unload();
        AssertClose(Reference(net, x, null), net.forward(x).detach(), 1e-5);
        Assert.DoesNotContain(net.named_parameters(), p => p.name.Contains("onelora"));
    }

    [Fact]
    public void GeneratedAttachHonoursLayersToTransformAndModulesToSaveAsRuntimeAttachDoes()
    {
        using var g = new Generator(7);
        var net = NewNet(g);
        var attachment = (PeftAttachment)Invoke(net, "AttachAdapters", new OneLoRAMethod(new PeftOptions { ModulesToSave = "fc2" }))!;
        // fc2 is a module to save: trained in full, never adapted.
        Assert.Equal(["fc1", "layers.0", "layers.1", "blocks.0.fc", "blocks.1.fc"], attachment.Layers.Select(l => l.Path));
        Assert.Equal(["fc2.bias", "fc2.weight"], attachment.ExtraTrainable.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Null(Peft.AdapterFor((Linear)net.named_modules().Single(m => m.name == "fc2").module));

        // PEFT's layer-index rule (".*\.[^.]*\.(\d+)\.") needs a module above the layer list, so on this model the
        // runtime selects no layer for LayersToTransform [1], and generated attach says so too.
        Assert.Empty(PeftModel.Select(NewNet(g), new PeftOptions { Targets = "*", LayersToTransform = [1] }).Layers);
        var error = Assert.Throws<TargetInvocationException>(() => Invoke(NewNet(g), "AttachAdapters", new OneLoRAMethod(new PeftOptions { LayersToTransform = [1] })));
        Assert.Contains("LayersToTransform [1]", Assert.IsType<InvalidOperationException>(error.InnerException).Message);
    }

    [Fact]
    public void MergeWithoutAttachNamesTheLayer()
    {
        using var g = new Generator(4);
        var net = NewNet(g);
        var error = Assert.Throws<TargetInvocationException>(() => Invoke(net, "MergeAdapters"));
        var inner = Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Contains("'fc1'", inner.Message);
        Assert.Contains("AttachAdapters()", inner.Message);
    }

    [Fact]
    public void EveryAdaptedSiteIsInterceptedAndNoOtherIs()
    {
        var (_, _, output) = TestCompilation.Run(TestCompilation.Create(("Net.cs", Source)));
        var tree = output.SyntaxTrees.Single(t => t.FilePath == "Net.cs");
        var model = output.GetSemanticModel(tree);
        var sites = tree.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>()
            .Where(i => i.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "forward" or "call" });
#pragma warning disable RSEXPERIMENTAL002 // the API that says which method intercepts a call
        var intercepted = sites.ToDictionary(i => i.Expression.ToString(), i => model.GetInterceptorMethod(i)?.ToDisplayString());
#pragma warning restore RSEXPERIMENTAL002
        Assert.Equal("OneLoRA.Generated.PeftInterceptors.Forward(TorchSharp.Modules.Linear, TorchSharp.torch.Tensor)", intercepted["fc.forward"]);
        Assert.Equal("OneLoRA.Generated.PeftInterceptors.Forward(TorchSharp.Modules.Linear, TorchSharp.torch.Tensor)", intercepted["fc1.forward"]);
        Assert.Equal("OneLoRA.Generated.PeftInterceptors.Forward(TorchSharp.Modules.Linear, TorchSharp.torch.Tensor)", intercepted["layers[i].forward"]);
        Assert.StartsWith("OneLoRA.Generated.PeftInterceptors.Call(", intercepted["this.fc2.call"]);
        Assert.Null(intercepted["block.call"]);      // a local (and a nested [Peft] module, not a Linear)
        Assert.Null(intercepted["gate.forward"]);    // [NoPeft]
    }

    private const string DerivedSource = """
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace RunTest;

        [Peft(Method.OneLoRA)]
        public partial class Encoder : nn.Module<Tensor, Tensor>
        {
            protected readonly Linear proj;

            public Encoder() : base(nameof(Encoder))
            {
                proj = nn.Linear(3, 4);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => proj.forward(x);
        }

        [Peft(Method.OneLoRA)]
        public partial class Classifier : Encoder
        {
            private readonly Linear head;

            public Classifier()
            {
                head = nn.Linear(4, 2);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => head.forward(proj.forward(x));
        }
        """;

    [Fact]
    public void DerivedPeftClassAdaptsBaseAndOwnLayers()
    {
        var (_, _, output) = TestCompilation.Run(TestCompilation.Create(("Derived.cs", DerivedSource)));
        using var image = new MemoryStream();
        var emit = output.Emit(image);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics));
        var assembly = new AssemblyLoadContext("derived", isCollectible: true).LoadFromStream(new MemoryStream(image.ToArray()));
        using var g = new Generator(5);
        var net = (nn.Module<Tensor, Tensor>)Activator.CreateInstance(assembly.GetType("RunTest.Classifier", throwOnError: true)!)!;
        InitParameters(net, g);

        var attachment = (PeftAttachment)Invoke(net, "AttachAdapters")!;
        Assert.Equal(["proj", "head"], attachment.Layers.Select(l => l.Path));
        Assert.Equal(["proj", "head"], ((IPeftModule)net).PeftLayers.Select(l => l.MemberName));
        using (no_grad())
            foreach (var l in attachment.Layers)
                ((OneLoRAAdapter)l.Adapter).DecompressionVector.copy_(randn(l.Layer.out_features, generator: g));

        var x = randn(4, 3, dtype: float64, generator: g).to(float32);
        Tensor Adapted(string path, Tensor h)
        {
            var l = attachment.Layers.Single(a => a.Path == path);
            var w = l.Layer.weight!.detach().to(float64);
            var deltaW = ((OneLoRAAdapter)l.Adapter).DecompressionVector.detach().to(float64).unsqueeze(1) * ones(1, w.shape[1], dtype: float64);
            return h.matmul((w + deltaW).t()) + l.Layer.bias!.detach().to(float64);
        }
        AssertClose(Adapted("head", Adapted("proj", x.to(float64))), net.forward(x).detach(), 1e-5);

        var before = net.forward(x).detach();
        Invoke(net, "MergeAdapters");
        Assert.True(attachment.IsMerged);   // the base's layer too, through base.MergeAdapters()
        AssertClose(before, net.forward(x).detach(), 1e-5);
    }
}
