using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>OLORA004: a Targets/Exclude glob that matches no candidate, reported on the glob itself.</summary>
public sealed class GlobMatchesNothingTests
{
    private const string Body = """
        {
            private readonly Linear fc1 = Linear(4, 4), fc2 = Linear(4, 4);
            public Mlp() : base(nameof(Mlp)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc2.forward(fc1.forward(x));
        }
        """;

    [Fact]
    public async Task Fires_on_the_typo_glob_inside_the_literal()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            [Peft(Method.OneLoRA, Targets = "fc*; {|OLORA004:fx3|} ")]
            public partial class Mlp : Module<Tensor, Tensor>
            """ + Body);
        Assert.Equal("Targets glob 'fx3' matches no member of [Peft] class 'Mlp' (names it can match: fc1, fc2, Linear)", message);
    }

    [Fact]
    public async Task Fires_on_each_unmatched_exclude_glob_in_a_verbatim_string()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA, Exclude = @"{|OLORA004:head|};{|OLORA004:gate?|}")]
            public partial class Mlp : Module<Tensor, Tensor>
            """ + Body);
        Assert.StartsWith("Exclude glob 'head' matches no member", diagnostics[0].GetMessage());
        Assert.StartsWith("Exclude glob 'gate?' matches no member", diagnostics[1].GetMessage());
    }

    [Fact]
    public async Task Underlines_the_whole_argument_when_the_globs_come_from_a_constant()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            public static class Globs { public const string Attention = "fc1;fc2;qkv"; }

            [Peft(Method.OneLoRA, Targets = {|OLORA004:Globs.Attention|})]
            public partial class Mlp : Module<Tensor, Tensor>
            """ + Body);
    }

    [Fact]
    public async Task Exclude_may_name_a_nested_peft_member_or_its_type()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Block : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Block() : base(nameof(Block)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }

            [Peft(Method.OneLoRA, Targets = "head", Exclude = "frozen_blocks;Bl*ck")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly ModuleList<Block> frozen_blocks = new ModuleList<Block>(new Block());
                private readonly Linear head = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(frozen_blocks[0].call(x));
            }
            """);
    }

    [Fact]
    public async Task Silent_when_every_glob_matches_and_under_pragma()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            #pragma warning disable OLORA004
            [Peft(Method.OneLoRA, Targets = "fc?;Linear;typo", Exclude = "")]
            #pragma warning restore OLORA004
            public partial class Mlp : Module<Tensor, Tensor>
            """ + Body);
    }
}
