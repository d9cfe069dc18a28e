using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using OneLoRA.Analyzers.Tests.Infrastructure;
using OneLoRA.Targeting;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>
/// Candidates are fields and auto-properties only (the generator's rule, shared source): a computed property is a view of
/// another member, so OLORA001/004/012/013 ignore it and [NoPeft] on it has no effect (OLORA010).
/// </summary>
public sealed class CandidateRuleTests
{
    [Fact]
    public async Task Computed_property_is_not_a_candidate_but_auto_property_is()
    {
        // Before: OLORA001 on Head (a view of the [NoPeft] head) and OLORA013 on All.
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA, Targets = "body")]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear body = Linear(4, 4);
                [NoPeft] private readonly Linear head = Linear(4, 2);
                public Linear {|OLORA001:Proj|} { get; } = Linear(4, 4);
                public Linear Head => head;
                public Linear Body { get { return body; } }
                public List<Linear> All => new List<Linear> { head };
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(Proj.forward(body.forward(x)));
            }
            """);
        Assert.Contains("'Proj'", diagnostics[0].GetMessage());
    }

    [Fact]
    public async Task Glob_naming_only_a_computed_property_matches_nothing()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            [Peft(Method.OneLoRA, Targets = "body;{|OLORA004:Head|}")]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear body = Linear(4, 4);
                [NoPeft] private readonly Linear head = Linear(4, 2);
                public Linear Head => head;
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(body.forward(x));
            }
            """);
        Assert.Contains("body, head, Linear", message);
        Assert.DoesNotContain("Head,", message);
    }

    [Fact]
    public async Task NoPeft_on_a_computed_property_has_no_effect()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Model : Module<Tensor, Tensor>
            {
                private readonly Linear body = Linear(4, 4);
                [NoPeft] private readonly Linear head = Linear(4, 2);
                [{|OLORA010:NoPeft|}] public Linear Head => head;
                [NoPeft] public Linear Frozen { get; } = Linear(4, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(Frozen.forward(body.forward(x)));
            }
            """);
        Assert.Equal("[NoPeft] on 'Head' has no effect: computed properties are not candidates (it has no backing field; mark the member it reads instead)", message);
    }

    [Fact]
    public async Task Class_whose_only_Linear_is_a_computed_view_has_nothing_to_adapt()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class {|OLORA012:Model|} : Module<Tensor, Tensor>
            {
                [NoPeft] private readonly Sequential stack = Sequential(Linear(4, 4));
                public Linear First => (Linear)stack[0];
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => stack.forward(x);
            }
            """);
    }

    [Fact]
    public void Auto_property_is_recognised_in_source_and_in_metadata()
    {
        const string library = """
            public class Holder
            {
                private int value;
                public int Auto { get; set; }
                public int InitOnly { get; init; }
                public int Computed => value;
                public int WithBody { get { return value; } set { this.value = value; } }
            }
            """;
        var source = TestCompilation.Create(library);
        TestCompilation.AssertCompiles(source);
        using var image = new MemoryStream();
        Assert.True(source.Emit(image).Success);
        var consumer = TestCompilation.Create("public class User { public Holder? H; }")
            .AddReferences(MetadataReference.CreateFromImage(image.ToArray()));

        foreach (var holder in new[] { source.GetTypeByMetadataName("Holder")!, consumer.GetTypeByMetadataName("Holder")! })
        {
            bool Auto(string name) => CandidateMember.IsAutoProperty(holder.GetMembers(name).OfType<IPropertySymbol>().Single());
            var where = holder.Locations[0].IsInMetadata ? "metadata" : "source";
            Assert.True(Auto("Auto"), where);
            Assert.True(Auto("InitOnly"), where);
            Assert.False(Auto("Computed"), where);
            Assert.False(Auto("WithBody"), where);
            Assert.True(CandidateMember.IsStorage(holder.GetMembers("Auto").Single()), where);
            Assert.False(CandidateMember.IsStorage(holder.GetMembers("Computed").Single()), where);
        }
    }
}
