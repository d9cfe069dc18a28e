using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>OLORA002 (not partial), OLORA011 (containing type not partial), OLORA003 (not a module), OLORA012 (nothing to adapt).</summary>
public sealed class ClassShapeTests
{
    [Fact]
    public async Task OLORA002_fires_on_class_that_is_not_partial()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            [Peft(Method.OneLoRA)]
            public sealed class {|OLORA002:Mlp|} : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
        Assert.Equal("[Peft] class 'Mlp' must be declared partial so the generator can add AttachAdapters, MergeAdapters and UnmergeAdapters", message);
    }

    [Fact]
    public async Task OLORA002_silent_for_partial_class_split_over_two_files()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
            }
            """, """
            public partial class Mlp
            {
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
    }

    [Fact]
    public async Task OLORA002_silent_under_pragma()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            #pragma warning disable OLORA002
            [Peft(Method.OneLoRA)]
            public class Mlp : Module<Tensor, Tensor>
            #pragma warning restore OLORA002
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
    }

    [Fact]
    public async Task OLORA011_fires_on_each_containing_type_that_is_not_partial()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync("""
            public static class {|OLORA011:Models|}
            {
                public partial class Vision
                {
                    [Peft(Method.OneLoRA)]
                    public partial class Mlp : Module<Tensor, Tensor>
                    {
                        private readonly Linear fc = Linear(4, 4);
                        public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                        public override Tensor forward(Tensor x) => fc.forward(x);
                    }
                }
            }
            """);
        Assert.Equal("Type 'Models' contains [Peft] class 'Mlp' and must be declared partial so the generator can extend the nested class",
            diagnostics[0].GetMessage());
    }

    [Fact]
    public async Task OLORA011_silent_when_containing_types_are_partial()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            public static partial class Models
            {
                [Peft(Method.OneLoRA)]
                public partial class Mlp : Module<Tensor, Tensor>
                {
                    private readonly Linear fc = Linear(4, 4);
                    public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => fc.forward(x);
                }
            }
            """);
    }

    [Fact]
    public async Task OLORA003_fires_on_class_that_is_not_a_torch_module_and_nothing_else()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            [Peft(Method.OneLoRA, Targets = "nothing")]
            public partial class {|OLORA003:Settings|}
            {
                public Linear Layer { get; } = Linear(2, 2);
            }
            """);
        Assert.Equal("[Peft] class 'Settings' does not derive from TorchSharp's torch.nn.Module", message);
    }

    [Fact]
    public async Task OLORA003_silent_for_class_deriving_from_a_user_module_base()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            public abstract class Backbone : Module<Tensor, Tensor>
            {
                protected Backbone(string name) : base(name) { }
            }

            [Peft(Method.OneLoRA)]
            public partial class Net : Backbone
            {
                private readonly Linear fc = Linear(4, 4);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
    }

    [Fact]
    public async Task OLORA012_fires_on_class_with_no_layer_members_instead_of_glob_warnings()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            [Peft(Method.OneLoRA, Targets = "fc*")]
            public partial class {|OLORA012:Norm|} : Module<Tensor, Tensor>
            {
                private readonly LayerNorm ln = LayerNorm(4);
                public Norm() : base(nameof(Norm)) => RegisterComponents();
                public override Tensor forward(Tensor x) => ln.forward(x);
            }
            """);
        Assert.Equal("[Peft] class 'Norm' declares no Linear, Linear[] or ModuleList<Linear> member and no member of a [Peft] module type, " +
            "so AttachAdapters() adapts nothing", message);
    }

    [Fact]
    public async Task OLORA012_silent_for_class_holding_only_nested_peft_modules()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Block : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Block() : base(nameof(Block)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }

            [Peft(Method.OneLoRA)]
            public partial class Encoder : Module<Tensor, Tensor>
            {
                private readonly ModuleList<Block> blocks = new ModuleList<Block>(new Block(), new Block());
                public Encoder() : base(nameof(Encoder)) => RegisterComponents();
                public override Tensor forward(Tensor x) { foreach (var b in blocks) x = b.call(x); return x; }
            }
            """);
    }
}
