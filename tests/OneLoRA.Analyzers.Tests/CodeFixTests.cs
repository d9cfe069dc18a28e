using System.Linq;
using System.Threading.Tasks;
using OneLoRA.Analyzers.CodeFixes;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>Every code fix: exact before/after text, the fixed code compiles, and the diagnostic is gone.</summary>
public sealed class CodeFixTests
{
    private const string U = TestCompilation.Usings;

    [Fact]
    public async Task AddNoPeft_marks_a_single_field()
    {
        var fixedText = await CodeFixAssert.FixAsync(new AddNoPeftCodeFix(), AddNoPeftCodeFix.EquivalenceKey, "OLORA001", "head", U + """
            [Peft(Method.OneLoRA, Targets = "fc")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                // classification head, trained in full later
                private readonly Linear head = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(fc.forward(x));
            }
            """);
        Assert.Equal(U + """
            [Peft(Method.OneLoRA, Targets = "fc")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                // classification head, trained in full later
                [NoPeft]
                private readonly Linear head = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(fc.forward(x));
            }
            """, fixedText[0]);
    }

    [Fact]
    public async Task AddNoPeft_splits_a_multi_variable_field_so_the_others_stay_adapted()
    {
        var fixedText = await CodeFixAssert.FixAsync(new AddNoPeftCodeFix(), AddNoPeftCodeFix.EquivalenceKey, "OLORA001", "gate", U + """
            [Peft(Method.OneLoRA, Targets = "fc*")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc1 = Linear(4, 4), gate = Linear(4, 4), fc2 = Linear(4, 4);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc2.forward(gate.forward(fc1.forward(x)));
            }
            """);
        Assert.Equal(U + """
            [Peft(Method.OneLoRA, Targets = "fc*")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc1 = Linear(4, 4), fc2 = Linear(4, 4);
                [NoPeft]
                private readonly Linear gate = Linear(4, 4);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc2.forward(gate.forward(fc1.forward(x)));
            }
            """, fixedText[0]);
    }

    [Fact]
    public async Task AddNoPeft_marks_a_property_and_qualifies_the_attribute_without_a_using()
    {
        const string usings = "using TorchSharp.Modules;\nusing static TorchSharp.torch;\nusing static TorchSharp.torch.nn;\n";
        var fixedText = await CodeFixAssert.FixAsync(new AddNoPeftCodeFix(), AddNoPeftCodeFix.EquivalenceKey, "OLORA001", "Head", usings + """
            [OneLoRA.Peft(OneLoRA.Method.OneLoRA, Targets = "fc")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                [System.Obsolete] public Linear Head { get; } = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => Head.forward(fc.forward(x));
            }
            """);
        Assert.Equal(usings + """
            [OneLoRA.Peft(OneLoRA.Method.OneLoRA, Targets = "fc")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                [OneLoRA.NoPeft]
                [System.Obsolete] public Linear Head { get; } = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => Head.forward(fc.forward(x));
            }
            """, fixedText[0]);
    }

    [Fact]
    public async Task AddNoPeft_fixes_OLORA007_on_a_plain_module_member()
    {
        var fixedText = await CodeFixAssert.FixAsync(new AddNoPeftCodeFix(), AddNoPeftCodeFix.EquivalenceKey, "OLORA007", "mlp", U + """
            public class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }

            [Peft(Method.OneLoRA)]
            public partial class Block : Module<Tensor, Tensor>
            {
                private readonly Linear proj = Linear(4, 4);
                private readonly Mlp mlp = new Mlp();
                public Block() : base(nameof(Block)) => RegisterComponents();
                public override Tensor forward(Tensor x) => mlp.call(proj.forward(x));
            }
            """);
        Assert.Contains("    [NoPeft]\n    private readonly Mlp mlp = new Mlp();\n", fixedText[0]);
    }

    [Fact]
    public async Task AddToTargets_appends_the_member_to_a_literal()
    {
        var fixedText = await CodeFixAssert.FixAsync(new AddToTargetsCodeFix(), AddToTargetsCodeFix.EquivalenceKey, "OLORA001", "v", U + """
            [Peft(Method.LoRA, Rank = 4, Targets = "q;k")]
            public partial class Attention : Module<Tensor, Tensor>
            {
                private readonly Linear q = Linear(4, 4), k = Linear(4, 4), v = Linear(4, 4);
                public Attention() : base(nameof(Attention)) => RegisterComponents();
                public override Tensor forward(Tensor x) => q.forward(x) + k.forward(x) + v.forward(x);
            }
            """);
        Assert.Contains("""[Peft(Method.LoRA, Rank = 4, Targets = "q;k;v")]""", fixedText[0]);
    }

    [Fact]
    public async Task AddToTargets_extends_a_constant_and_edits_the_file_holding_the_attribute()
    {
        var fixedText = await CodeFixAssert.FixAsync(new AddToTargetsCodeFix(), AddToTargetsCodeFix.EquivalenceKey, "OLORA001", "proj", U + """
            public partial class Attention
            {
                private readonly Linear proj = Linear(4, 4);
                public override Tensor forward(Tensor x) => proj.forward(qkv.forward(x).narrow(-1, 0, 4));
            }
            """, U + """
            public static class Globs { public const string Qkv = "qkv;"; }

            [Peft(Method.OneLoRA, Targets = Globs.Qkv)]
            public partial class Attention : Module<Tensor, Tensor>
            {
                private readonly Linear qkv = Linear(4, 12);
                public Attention() : base(nameof(Attention)) => RegisterComponents();
            }
            """);
        Assert.Contains("""[Peft(Method.OneLoRA, Targets = Globs.Qkv + ";proj")]""", fixedText[1]);
    }

    [Fact]
    public async Task AddToTargets_is_not_offered_when_an_exclude_glob_removed_the_member()
    {
        var actions = await CodeFixAssert.OfferedAsync(new AddToTargetsCodeFix(), "OLORA001", "head", U + """
            [Peft(Method.OneLoRA, Exclude = "head")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4), head = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(fc.forward(x));
            }
            """);
        Assert.Empty(actions);
        var noPeft = await CodeFixAssert.OfferedAsync(new AddNoPeftCodeFix(), "OLORA001", "head", U + """
            [Peft(Method.OneLoRA, Exclude = "head")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4), head = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(fc.forward(x));
            }
            """);
        Assert.Equal("Mark 'head' [NoPeft]", Assert.Single(noPeft).Title);
    }

    [Fact]
    public async Task AddPartial_inserts_partial_right_before_class()
    {
        var fixedText = await CodeFixAssert.FixAsync(new AddPartialCodeFix(), AddPartialCodeFix.EquivalenceKey, "OLORA002", "Mlp", U + """
            [Peft(Method.OneLoRA)]
            public sealed class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
        Assert.Contains("[Peft(Method.OneLoRA)]\npublic sealed partial class Mlp : Module<Tensor, Tensor>\n", fixedText[0]);
    }

    [Fact]
    public async Task AddPartial_on_a_class_without_modifiers_keeps_its_trivia()
    {
        var fixedText = await CodeFixAssert.FixAsync(new AddPartialCodeFix(), AddPartialCodeFix.EquivalenceKey, "OLORA002", "Mlp", U + """
            [Peft(Method.OneLoRA)]
            // a comment between attribute and class
            class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
        Assert.Contains("[Peft(Method.OneLoRA)]\n// a comment between attribute and class\npartial class Mlp : Module<Tensor, Tensor>\n", fixedText[0]);
    }

    [Fact]
    public async Task AddPartial_fixes_OLORA011_on_the_containing_type()
    {
        var fixedText = await CodeFixAssert.FixAsync(new AddPartialCodeFix(), AddPartialCodeFix.EquivalenceKey, "OLORA011", "Models", U + """
            public static class Models
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
        Assert.Contains("public static partial class Models\n", fixedText[0]);
    }

    [Theory]
    [InlineData("Method.OneLoRA, Rank = 4, TrainNorms = true", "Rank", "Method.OneLoRA, TrainNorms = true")]
    [InlineData("Method.LoRA, Rank = 4, MoRAType = 6", "MoRAType", "Method.LoRA, Rank = 4")]
    [InlineData("Method.BitFit, Alpha = 2.0", "Alpha", "Method.BitFit")]
    public async Task RemoveOption_deletes_the_argument_and_its_comma(string before, string option, string after)
    {
        var body = """
            public partial class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """;
        var flagged = before.Split(", ").Single(a => a.StartsWith(option + " ", System.StringComparison.Ordinal));
        var fixedText = await CodeFixAssert.FixAsync(new RemoveOptionCodeFix(), RemoveOptionCodeFix.EquivalenceKey, "OLORA009", flagged,
            U + $"[Peft({before})]\n" + body);
        Assert.Equal(U + $"[Peft({after})]\n" + body, fixedText[0]);
    }

    [Fact]
    public async Task RemoveNoPeft_deletes_the_attribute_line_or_the_attribute_from_a_list()
    {
        const string plain = """
            public class Mlp : Module<Tensor, Tensor>
            {
                /// <summary>The layer.</summary>
                [NoPeft]
                private readonly Linear fc = Linear(4, 4);
                [NoPeft, System.Obsolete] public int Width { get; } = 4;
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """;
        var first = await CodeFixAssert.FixAsync(new RemoveNoPeftCodeFix(), RemoveNoPeftCodeFix.EquivalenceKey, "OLORA010", "NoPeft", U + plain.Replace("[NoPeft, System.Obsolete]", "[System.Obsolete]"));
        Assert.Equal(U + plain.Replace("[NoPeft, System.Obsolete]", "[System.Obsolete]").Replace("    [NoPeft]\n", ""), first[0]);

        var second = await CodeFixAssert.FixAsync(new RemoveNoPeftCodeFix(), RemoveNoPeftCodeFix.EquivalenceKey, "OLORA010", "NoPeft", U + plain.Replace("    [NoPeft]\n", ""));
        Assert.Equal(U + plain.Replace("    [NoPeft]\n", "").Replace("[NoPeft, System.Obsolete]", "[System.Obsolete]"), second[0]);
    }
}
