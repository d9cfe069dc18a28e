using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>
/// OLORA014 (file-local class), OLORA015 (name of a generated member), OLORA016 (C# before 11): user code that compiles
/// but that the generated code could not compile next to; the generator skips exactly these classes.
/// </summary>
public sealed class GenerationBlockerTests
{
    private const string Body = """
        {
            private readonly Linear fc = Linear(4, 4);
            public Mlp() : base(nameof(Mlp)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.forward(x);
        }
        """;

    [Fact]
    public async Task OLORA014_fires_on_a_file_class()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("[Peft(Method.OneLoRA)]\nfile partial class {|OLORA014:Mlp|} : Module<Tensor, Tensor>\n" + Body);
        Assert.Equal("[Peft] class 'Mlp' gets no generated code: it is declared 'file'; the generated members live in another file, which cannot extend a file-local type", message);
    }

    [Fact]
    public async Task OLORA014_fires_on_a_class_nested_in_a_file_class()
    {
        var message = await AnalyzerAssert.SingleMessageAsync(
            "file partial class Outer\n{\n[Peft(Method.OneLoRA)]\npublic partial class {|OLORA014:Mlp|} : Module<Tensor, Tensor>\n" + Body + "\n}");
        Assert.Contains("it is nested in the file-local type 'Outer'", message);
    }

    [Fact]
    public async Task OLORA014_silent_for_a_file_class_without_Peft_next_to_a_Peft_class()
    {
        await AnalyzerAssert.DiagnosticsAsync("file class Helper { }\n[Peft(Method.OneLoRA)]\npublic partial class Mlp : Module<Tensor, Tensor>\n" + Body);
    }

    [Theory]
    [InlineData("public void {|OLORA015:MergeAdapters|}() { }", "Member 'MergeAdapters' of [Peft] class 'Mlp' has the name of the generated member 'MergeAdapters', so the class gets no generated code; rename it")]
    [InlineData("public int {|OLORA015:UnmergeAdapters|} { get; set; }", "Member 'UnmergeAdapters' of [Peft] class 'Mlp' has the name of the generated member 'UnmergeAdapters', so the class gets no generated code; rename it")]
    [InlineData("public string {|OLORA015:AttachAdapters|}(int n) => \"\";", "Member 'AttachAdapters' of [Peft] class 'Mlp' has the name of the generated member 'AttachAdapters', so the class gets no generated code; rename it")]
    [InlineData("private readonly int {|OLORA015:PeftLayers|};", "Member 'PeftLayers' of [Peft] class 'Mlp' has the name of the generated member 'PeftLayers', so the class gets no generated code; rename it")]
    [InlineData("public class {|OLORA015:CollectTargetLayers|} { }", "Member 'CollectTargetLayers' of [Peft] class 'Mlp' has the name of the generated member 'CollectTargetLayers', so the class gets no generated code; rename it")]
    [InlineData("public event Action? {|OLORA015:DefaultPeftOptions|};", "Member 'DefaultPeftOptions' of [Peft] class 'Mlp' has the name of the generated member 'DefaultPeftOptions', so the class gets no generated code; rename it")]
    [InlineData("private static int {|OLORA015:__PeftCounter|};", "Member '__PeftCounter' of [Peft] class 'Mlp' starts with '__Peft', reserved for generated members, so the class gets no generated code; rename it")]
    public async Task OLORA015_fires_on_a_member_named_like_a_generated_one(string member, string expected)
    {
        var message = await AnalyzerAssert.SingleMessageAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);

            """ + member + "\n}");
        Assert.Equal(expected, message);
    }

    [Fact]
    public async Task OLORA015_fires_on_a_type_parameter_and_on_a_member_inherited_from_a_non_Peft_base()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync("""
            public abstract class Trainable : Module<Tensor, Tensor>
            {
                protected Trainable() : base("t") { }
                public void MergeAdapters() { }
                private void UnmergeAdapters() { }   // private: not visible to the generated code
            }
            [Peft(Method.OneLoRA)]
            public partial class {|OLORA015:Mlp|}<{|OLORA015:PeftLayers|}> : Trainable
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
        var messages = diagnostics.Select(d => d.GetMessage(CultureInfo.InvariantCulture)).ToList();
        Assert.Contains("Member inherited from 'Trainable' 'MergeAdapters' of [Peft] class 'Mlp' has the name of the generated member 'MergeAdapters', so the class gets no generated code; rename it", messages);
        Assert.Contains("Type parameter 'PeftLayers' of [Peft] class 'Mlp' has the name of the generated member 'PeftLayers', so the class gets no generated code; rename it", messages);
    }

    [Fact]
    public async Task OLORA015_silent_for_members_of_a_Peft_base_and_for_similar_names()
    {
        await AnalyzerAssert.DiagnosticsAsync("""
            [Peft(Method.OneLoRA)]
            public partial class Encoder : Module<Tensor, Tensor>
            {
                protected readonly Linear proj = Linear(4, 4);
                public Encoder() : base("e") => RegisterComponents();
                public override Tensor forward(Tensor x) => proj.forward(x);
                public void MergeAdapter() { }
                private int _PeftCount;
                public int PeftLayerCount => _PeftCount;
            }
            [Peft(Method.OneLoRA)]
            public partial class Classifier : Encoder
            {
                private readonly Linear head = Linear(4, 2);
                public Classifier() => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(x);
            }
            """);
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp10, "10.0")]
    [InlineData(LanguageVersion.CSharp8, "8.0")]
    public async Task OLORA016_fires_below_CSharp_11(LanguageVersion version, string shown)
    {
        var compilation = TestCompilation.Create(TestCompilation.Usings + """
            [Peft(Method.OneLoRA)]
            public partial class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Mlp() : base(nameof(Mlp)) { RegisterComponents(); }
                public override Tensor forward(Tensor x) { return fc.forward(x); }
            }
            """);
        compilation = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees[0],
            compilation.SyntaxTrees[0].WithRootAndOptions(compilation.SyntaxTrees[0].GetRoot(), TestCompilation.ParseOptions.WithLanguageVersion(version)));
        TestCompilation.AssertCompiles(compilation);
        var diagnostic = Assert.Single(await TestCompilation.AnalyzeAsync(compilation));
        Assert.Equal("OLORA016", diagnostic.Id);
        Assert.Equal("Mlp", diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Equal($"[Peft] class 'Mlp' gets no generated code: the project compiles C# {shown}, and the generated code needs C# 11 (it declares file-local types); set <LangVersion> to 11 or later",
            diagnostic.GetMessage(CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task OLORA016_silent_at_CSharp_11()
    {
        var compilation = TestCompilation.Create(TestCompilation.Usings + "[Peft(Method.OneLoRA)]\npublic partial class Mlp : Module<Tensor, Tensor>\n" + Body);
        compilation = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees[0],
            compilation.SyntaxTrees[0].WithRootAndOptions(compilation.SyntaxTrees[0].GetRoot(), TestCompilation.ParseOptions.WithLanguageVersion(LanguageVersion.CSharp11)));
        TestCompilation.AssertCompiles(compilation);
        Assert.Empty(await TestCompilation.AnalyzeAsync(compilation));
    }
}
