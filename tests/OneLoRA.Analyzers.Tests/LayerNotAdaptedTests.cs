using System.Linq;
using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>OLORA001: a Linear member of a [Peft] class that Targets/Exclude leave un-adapted.</summary>
public sealed class LayerNotAdaptedTests
{
    [Fact]
    public async Task Fires_on_member_no_target_glob_matches()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            [Peft(Method.OneLoRA, Targets = "fc1;fc2")]
            public partial class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc1, fc2, {|OLORA001:fc3|};
                public Mlp() : base(nameof(Mlp)) { fc1 = Linear(4, 4); fc2 = Linear(4, 4); fc3 = Linear(4, 4); RegisterComponents(); }
                public override Tensor forward(Tensor x) => fc3.forward(fc2.forward(fc1.forward(x)));
            }
            """);
        Assert.Equal(
            "Linear member 'fc3' of [Peft] class 'Mlp' is not adapted: no Targets glob matches 'fc3' or 'Linear' (Targets = \"fc1;fc2\"); " +
            "add it to Targets, or mark it [NoPeft] to keep it frozen deliberately", message);
    }

    [Fact]
    public async Task Fires_on_member_an_exclude_glob_removes_and_names_the_glob()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.LoRA, Exclude = "q;head*")]
            public partial class Attention : Module<Tensor, Tensor>
            {
                private readonly Linear {|OLORA001:q|} = Linear(4, 4), v = Linear(4, 4);
                private readonly Linear {|OLORA001:head_out|} = Linear(4, 2);
                public Attention() : base(nameof(Attention)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head_out.forward(q.forward(x) + v.forward(x));
            }
            """);
        Assert.Contains("is not adapted: Exclude glob 'q' matches it;", diagnostics[0].GetMessage());
        Assert.Contains("is not adapted: Exclude glob 'head*' matches it;", diagnostics[1].GetMessage());
        Assert.All(diagnostics, d => Assert.Equal("Exclude", d.Properties["Reason"]));
    }

    [Fact]
    public async Task Fires_on_property_array_and_module_list_members_once_each()
    {
        // An auto-property's backing field is not a second candidate.
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA, Targets = "fc")]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Linear {|OLORA001:Proj|} { get; } = Linear(4, 4);
                private readonly Linear[] {|OLORA001:experts|} = { Linear(4, 4) };
                private readonly ModuleList<Linear> {|OLORA001:layers|} = new ModuleList<Linear>(Linear(4, 4));
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => layers[0].forward(experts[0].forward(Proj.forward(fc.forward(x))));
            }
            """);
    }

    [Fact]
    public async Task Silent_when_default_targets_select_every_layer()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear fc1 = Linear(4, 4), fc2 = Linear(4, 4);
                private readonly ModuleList<Linear> layers = new ModuleList<Linear>(Linear(4, 4));
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => layers[0].forward(fc2.forward(fc1.forward(x)));
            }
            """);
    }

    [Fact]
    public async Task Silent_when_a_glob_matches_the_layer_type_name()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA, Targets = "*Linear")]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear qkv = Linear(4, 12), proj = Linear(4, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => proj.forward(qkv.forward(x).narrow(-1, 0, 4));
            }
            """);
    }

    [Fact]
    public async Task Silent_on_NoPeft_member()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA, Targets = "fc*")]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear fc1 = Linear(4, 4);
                [NoPeft] private readonly Linear head = Linear(4, 2);
                [NoPeft] public Linear Gate { get; } = Linear(4, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(Gate.forward(fc1.forward(x)));
            }
            """);
    }

    [Fact]
    public async Task Silent_under_pragma_warning_disable()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA, Targets = "fc1")]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear fc1 = Linear(4, 4);
            #pragma warning disable OLORA001 // kept frozen on purpose
                private readonly Linear head = Linear(4, 2);
            #pragma warning restore OLORA001
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(fc1.forward(x));
            }
            """);
    }

    [Fact]
    public async Task Silent_under_SuppressMessage_on_the_member()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA, Targets = "fc1")]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear fc1 = Linear(4, 4);
                [System.Diagnostics.CodeAnalysis.SuppressMessage("OneLoRA", "OLORA001", Justification = "probe layer")]
                private readonly Linear probe = Linear(4, 2);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => probe.forward(fc1.forward(x));
            }
            """);
    }

    [Fact]
    public async Task Inherited_members_are_not_candidates_of_the_derived_class()
    {
        // Same candidate rule as the generator: only members declared in the [Peft] class itself.
        await AnalyzerAssert.DiagnosticsAsync("""
            public class Backbone : Module<Tensor, Tensor>
            {
                protected readonly Linear stem = Linear(4, 4);
                public Backbone() : base(nameof(Backbone)) { }
                public override Tensor forward(Tensor x) => stem.forward(x);
            }

            [Peft(Method.OneLoRA, Targets = "head")]
            public partial class Classifier : Backbone
            {
                private readonly Linear head = Linear(4, 2);
                public Classifier() => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(base.forward(x));
            }
            """);
    }
}
