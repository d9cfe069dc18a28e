using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>OLORA007 (module member whose class is not [Peft]) and OLORA013 (Linear layers held where the generator cannot adapt them).</summary>
public sealed class FrozenLayersTests
{
    private const string PlainMlp = """
        public class Mlp : Module<Tensor, Tensor>
        {
            private readonly Linear fc = Linear(4, 4);
            public Mlp() : base(nameof(Mlp)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.forward(x);
        }

        """;

    [Fact]
    public async Task OLORA007_fires_on_member_of_a_plain_module_class_holding_Linear_layers()
    {
        var message = await AnalyzerAssert.SingleMessageAsync(PlainMlp + """
            [Peft(Method.OneLoRA)]
            public partial class Block : Module<Tensor, Tensor>
            {
                private readonly Linear proj = Linear(4, 4);
                private readonly Mlp {|OLORA007:mlp|} = new Mlp();
                public Block() : base(nameof(Block)) => RegisterComponents();
                public override Tensor forward(Tensor x) => mlp.call(proj.forward(x));
            }
            """);
        Assert.Equal("Member 'mlp' of [Peft] class 'Block' has module type 'Mlp', which holds Linear layers but is not [Peft]; " +
            "its layers stay frozen (annotate 'Mlp' with [Peft], or mark 'mlp' [NoPeft])", message);
    }

    [Fact]
    public async Task OLORA007_follows_collections_base_classes_and_nested_modules()
    {
        await AnalyzerAssert.DiagnosticsAsync(PlainMlp + """
            public class WideMlp : Mlp { }

            public class Encoder : Module<Tensor, Tensor>
            {
                private readonly Mlp inner = new Mlp();
                public Encoder() : base(nameof(Encoder)) => RegisterComponents();
                public override Tensor forward(Tensor x) => inner.call(x);
            }

            [Peft(Method.OneLoRA)]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear head = Linear(4, 2);
                private readonly ModuleList<Mlp> {|OLORA007:experts|} = new ModuleList<Mlp>(new Mlp());
                private readonly WideMlp[] {|OLORA007:wide|} = { new WideMlp() };
                private readonly Encoder {|OLORA007:encoder|} = new Encoder();
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(encoder.call(wide[0].call(experts[0].call(x))));
            }
            """);
    }

    [Fact]
    public async Task OLORA007_silent_for_peft_modules_torch_modules_layerless_modules_and_NoPeft()
    {
        await AnalyzerAssert.DiagnosticsAsync(PlainMlp + """
            [Peft(Method.OneLoRA)]
            public partial class Attention : Module<Tensor, Tensor>
            {
                private readonly Linear qkv = Linear(4, 12);
                public Attention() : base(nameof(Attention)) => RegisterComponents();
                public override Tensor forward(Tensor x) => qkv.forward(x);
            }

            public class Scale : Module<Tensor, Tensor>
            {
                public Scale() : base(nameof(Scale)) { }
                public override Tensor forward(Tensor x) => x * 2;
            }

            [Peft(Method.OneLoRA)]
            public partial class Block : Module<Tensor, Tensor>
            {
                private readonly Attention attn = new Attention();
                private readonly ModuleList<Attention> more = new ModuleList<Attention>(new Attention());
                private readonly LayerNorm ln = LayerNorm(4);
                private readonly Dropout drop = Dropout(0.1);
                private readonly Scale scale = new Scale();
                [NoPeft] private readonly Mlp mlp = new Mlp();
                public Block() : base(nameof(Block)) => RegisterComponents();
                public override Tensor forward(Tensor x) => mlp.call(scale.call(drop.call(ln.call(more[0].call(attn.call(x))))));
            }
            """);
    }

    [Fact]
    public async Task OLORA013_fires_on_static_members_and_unsupported_collections()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                private static readonly Linear {|OLORA013:shared|} = Linear(4, 4);
                private readonly List<Linear> {|OLORA013:extra|} = new List<Linear> { Linear(4, 4) };
                private readonly Linear[][] {|OLORA013:grid|} = { new[] { Linear(4, 4) } };
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => grid[0][0].call(extra[0].call(shared.call(fc.forward(x))));
            }
            """);
        Assert.Equal("Linear layers in 'shared' of [Peft] class 'Net' are never adapted: static members are not candidates; make it an instance member",
            diagnostics[0].GetMessage());
        Assert.Equal("Linear layers in 'extra' of [Peft] class 'Net' are never adapted: 'List<Linear>' is not a layer type the generator adapts; " +
            "use Linear, Linear[] or ModuleList<Linear>", diagnostics[1].GetMessage());
    }

    [Fact]
    public async Task OLORA013_fires_on_Linear_layers_created_into_a_Sequential_or_Module_typed_member()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                private readonly Sequential mlp;
                private readonly Module<Tensor, Tensor> head = {|OLORA013:Linear(4, 2)|};
                public Net() : base(nameof(Net))
                {
                    mlp = {|OLORA013:Sequential(Linear(4, 8), ReLU(), Linear(8, 4))|};
                    RegisterComponents();
                }
                public override Tensor forward(Tensor x) => head.call(mlp.call(fc.forward(x)));
            }
            """);
        Assert.Equal("Linear layers in 'mlp' of [Peft] class 'Net' are never adapted: 'mlp' is a 'Sequential', which is not a candidate, " +
            "so the Linear layers created here stay frozen; declare each as a Linear member, or mark 'mlp' [NoPeft]", diagnostics[1].GetMessage());
    }

    [Fact]
    public async Task OLORA013_silent_for_layerless_Sequential_NoPeft_and_candidates()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                private readonly Sequential act = Sequential(ReLU(), Dropout(0.1));
                [NoPeft] private readonly Sequential frozen = Sequential(Linear(4, 4));
                [NoPeft] private readonly List<Linear> probes = new List<Linear>();
                private readonly Sequential wrapped;
                public Net() : base(nameof(Net))
                {
                    wrapped = Sequential(fc, ReLU());
                    RegisterComponents();
                }
                public override Tensor forward(Tensor x) => wrapped.call(frozen.call(act.call(x)));
            }
            """);
    }
}
