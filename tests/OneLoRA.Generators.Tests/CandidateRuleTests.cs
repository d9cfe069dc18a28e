using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using OneLoRA.Methods.OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Generators.Tests;

/// <summary>
/// Only fields and auto-properties are candidates: a computed property is a view of another member and adapting through
/// it would adapt that member despite its [NoPeft], or twice. Expected outputs in float64 from explicit ΔW = b·1ᵀ.
/// </summary>
public class CandidateRuleTests
{
    private const string Source = """
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace RunTest;

        [Peft(Method.OneLoRA)]
        public partial class Viewed : nn.Module<Tensor, Tensor>
        {
            private readonly Linear body;
            [NoPeft] private readonly Linear head;

            public Linear Proj { get; }
            public Linear Head => head;
            public Linear Body { get { return body; } }

            public Viewed() : base(nameof(Viewed))
            {
                body = nn.Linear(3, 4);
                Proj = nn.Linear(4, 4);
                head = nn.Linear(4, 2);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => head.forward(Proj.forward(body.forward(x)));
        }
        """;

    [Fact]
    public void ComputedPropertiesAreNotAdaptedAndAutoPropertiesAre()
    {
        var (_, result, output) = TestCompilation.Run(TestCompilation.Create(("Viewed.cs", Source)));
        Assert.All(result.Results, r => Assert.Null(r.Exception));
        var generated = TestCompilation.SingleGeneratedSource(result, "RunTest.Viewed.Peft.g.cs");
        Assert.DoesNotContain("\"Head\"", generated);
        Assert.DoesNotContain("\"Body\"", generated);

        using var image = new MemoryStream();
        var emit = output.Emit(image);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics));
        var assembly = new AssemblyLoadContext("candidates", isCollectible: true).LoadFromStream(new MemoryStream(image.ToArray()));
        using var g = new Generator(11);
        var net = (nn.Module<Tensor, Tensor>)Activator.CreateInstance(assembly.GetType("RunTest.Viewed", throwOnError: true)!)!;
        CompileAndRunTests.InitParameters(net, g);
        Assert.Equal(["body", "Proj"], ((IPeftModule)net).PeftLayers.Select(l => l.MemberName));

        // Before the rule, Body made this throw "listed twice" and Head adapted the [NoPeft] head.
        var attachment = (PeftAttachment)net.GetType().GetMethod("AttachAdapters", Type.EmptyTypes)!.Invoke(net, null)!;
        Assert.Equal(["body", "Proj"], attachment.Layers.Select(l => l.Path));
        var head = (Linear)net.GetType().GetProperty("Head")!.GetValue(net)!;
        Assert.Null(Peft.AdapterFor(head));
        Assert.False(head.weight!.requires_grad);

        using (no_grad())
            foreach (var l in attachment.Layers)
                ((OneLoRAAdapter)l.Adapter).DecompressionVector.copy_(randn(l.Layer.out_features, generator: g));

        Tensor Apply(Linear layer, Tensor h)
        {
            var w = layer.weight!.detach().to(float64);
            if (attachment.Layers.FirstOrDefault(a => ReferenceEquals(a.Layer, layer)) is { } adapted)
                w = w + ((OneLoRAAdapter)adapted.Adapter).DecompressionVector.detach().to(float64).unsqueeze(1) * ones(1, w.shape[1], dtype: float64);
            return h.matmul(w.t()) + layer.bias!.detach().to(float64);
        }
        var x = randn(5, 3, generator: g);
        var layers = attachment.Layers.ToDictionary(l => l.Path, l => l.Layer);
        var expected = Apply(head, Apply(layers["Proj"], Apply(layers["body"], x.to(float64))));
        var diff = (expected - net.forward(x).detach().to(float64)).abs().max().item<double>();
        Assert.True(diff <= 1e-5, $"max |difference| {diff:G3} > 1e-5");
    }
}
