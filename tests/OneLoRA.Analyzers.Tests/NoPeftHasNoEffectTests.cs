using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>OLORA010: [NoPeft] where nothing reads it.</summary>
public sealed class NoPeftHasNoEffectTests
{
    [Fact]
    public async Task Fires_on_member_of_a_class_without_Peft()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            public class Mlp : Module<Tensor, Tensor>
            {
                [{|OLORA010:NoPeft|}] private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
        Assert.Equal("[NoPeft] on 'fc' has no effect: class 'Mlp' is not [Peft]", message);
    }

    [Fact]
    public async Task Fires_on_static_and_layerless_members()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Block : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                [{|OLORA010:NoPeft|}] private readonly LayerNorm ln = LayerNorm(4);
                [System.Obsolete, {|OLORA010:OneLoRA.NoPeft|}] public int Width { get; } = 4;
                [{|OLORA010:NoPeft|}] private static readonly Linear shared = Linear(4, 4);
                public Block() : base(nameof(Block)) => RegisterComponents();
                public override Tensor forward(Tensor x) => shared.call(ln.forward(fc.forward(x)));
            }
            """);
        Assert.Equal("[NoPeft] on 'ln' has no effect: 'LayerNorm' holds no Linear layers", diagnostics[0].GetMessage());
        Assert.Equal("[NoPeft] on 'Width' has no effect: 'int' holds no Linear layers", diagnostics[1].GetMessage());
        Assert.Equal("[NoPeft] on 'shared' has no effect: static members are never adapted", diagnostics[2].GetMessage());
    }

    [Fact]
    public async Task Silent_on_Linear_nested_Peft_plain_module_and_container_members()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Attention : Module<Tensor, Tensor>
            {
                private readonly Linear qkv = Linear(4, 12);
                public Attention() : base(nameof(Attention)) => RegisterComponents();
                public override Tensor forward(Tensor x) => qkv.forward(x);
            }

            public class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }

            [Peft(Method.OneLoRA)]
            public partial class Block : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                [NoPeft] private readonly Linear head = Linear(4, 2);
                [NoPeft] private readonly ModuleList<Linear> probes = new ModuleList<Linear>();
                [NoPeft] private readonly Attention attn = new Attention();
                [NoPeft] private readonly Mlp mlp = new Mlp();
                [NoPeft] private readonly Sequential extra = Sequential(ReLU());
                public Block() : base(nameof(Block)) => RegisterComponents();
                public override Tensor forward(Tensor x) => extra.call(mlp.call(attn.call(head.forward(fc.forward(x)))));
            }
            """);
    }
}
