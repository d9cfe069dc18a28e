using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Generators.Tests;

/// <summary>
/// Hint names are valid and unique (Roslyn compares them case-insensitively and drops the generator's whole output on a
/// duplicate or an invalid one), and odd source paths cannot break the generated comments.
/// </summary>
public class HintNameAndPathTests
{
    private const string Usings = """
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        """;

    private static string Class(string name) => $$"""
        [Peft(Method.OneLoRA)]
        public partial class {{name}} : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc = nn.Linear(2, 2);
            public {{name}}() : base("{{name}}") => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.forward(x);
        }
        """;

    private static (GeneratorRunResult Run, Compilation Output) Generate(params (string Path, string Source)[] files)
    {
        var (_, result, output) = TestCompilation.Run(TestCompilation.Create(files));
        var run = Assert.Single(result.Results);
        Assert.True(run.Exception is null, run.Exception?.ToString());
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return (run, output);
    }

    [Fact]
    public void KeywordNamespaceGivesAValidHintName()
    {
        var (run, output) = Generate(("Keyword.cs", Usings + "namespace @class.@event;\n" + Class("A")));
        Assert.Equal(["class.event.A.Peft.g.cs"], run.GeneratedSources.Select(s => s.HintName));
        Assert.NotNull(output.GetTypeByMetadataName("class.event.A")!.GetMembers("AttachAdapters").FirstOrDefault());
    }

    [Fact]
    public void ClassNamesDifferingOnlyInCaseGetTwoFilesAndBothCompile()
    {
        var (run, output) = Generate(("Upper.cs", Usings + "namespace N;\n" + Class("A")), ("Lower.cs", Usings + "namespace N;\n" + Class("a")));
        var names = run.GeneratedSources.Select(s => s.HintName).ToList();
        Assert.Equal(2, names.Count);
        Assert.Equal(2, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(names, n => Assert.Matches(@"^N\.[Aa]\.[0-9a-f]{8}\.Peft\.g\.cs$", n));
        foreach (var type in new[] { "N.A", "N.a" })
            Assert.NotEmpty(output.GetTypeByMetadataName(type)!.GetMembers("MergeAdapters"));

        // Stable: a second run over the same code gives the same names.
        var (again, _) = Generate(("Upper.cs", Usings + "namespace N;\n" + Class("A")), ("Lower.cs", Usings + "namespace N;\n" + Class("a")));
        Assert.Equal(names, again.GeneratedSources.Select(s => s.HintName));
    }

    [Fact]
    public void NamespaceAndClassCaseCollisionsAcrossNamespacesAreResolvedToo()
    {
        var (run, _) = Generate(
            ("One.cs", Usings + "namespace Models.Core { " + Class("Net") + " }"),
            ("Two.cs", Usings + "namespace models.core { " + Class("NET") + " }"),
            ("Three.cs", Usings + "namespace Other { " + Class("Net") + " }"));
        var names = run.GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains("Other.Net.Peft.g.cs", names);   // no collision, no suffix
    }

    [Fact]
    public void UnicodeIdentifiersBecomeSafeHintNames()
    {
        var (run, _) = Generate(("Unicode.cs", Usings + "namespace Modèles;\n" + Class("Réseau")));
        var name = Assert.Single(run.GeneratedSources).HintName;
        Assert.Equal("Mod_les.R_seau.Peft.g.cs", name);
    }

    [Theory]
    [InlineData("dir/Mo\ndel.cs", "Mo\\u000Adel.cs")]
    [InlineData("Mo\u2028del.cs", "Mo\\u2028del.cs")]
    [InlineData("Mo\u2029del.cs", "Mo\\u2029del.cs")]
    [InlineData("Mo\r\u0085del.cs", "Mo\\u000D\\u0085del.cs")]
    public void LineBreaksInTheSourcePathStayInsideTheComment(string path, string escaped)
    {
        var (run, output) = Generate((path, Usings + "namespace Paths;\n" + Class("Net")));
        var text = Assert.Single(run.GeneratedSources).SourceText.ToString();
        Assert.Contains("        // " + escaped + ":11: fc.forward(x)\n        [global::System.Runtime.CompilerServices.InterceptsLocation(", text);
        Assert.DoesNotContain('\u2028', text);
        Assert.DoesNotContain('\u2029', text);
        Assert.DoesNotContain('\u0085', text);
        Assert.DoesNotContain('\r', text);

        // The call is still intercepted (the attribute line after the comment survived).
        var tree = output.SyntaxTrees.Single(t => t.FilePath == path);
        var call = tree.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>().Single(i => i.ToString() == "fc.forward(x)");
#pragma warning disable RSEXPERIMENTAL002 // the API that says which method intercepts a call
        Assert.NotNull(output.GetSemanticModel(tree).GetInterceptorMethod(call));
#pragma warning restore RSEXPERIMENTAL002
    }
}
