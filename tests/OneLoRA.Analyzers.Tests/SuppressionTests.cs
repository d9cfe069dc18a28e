using System.Linq;
using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>Every id fires on its snippet alone, and a #pragma for that id silences it (errors included).</summary>
public sealed class SuppressionTests
{
    private const string Forward = """
            public override Tensor forward(Tensor x) => x;
        """;

    public static TheoryData<string, string> Offenders => new()
    {
        { "OLORA001", "[Peft(Method.OneLoRA, Targets = \"fc1\")] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc1 = Linear(2, 2), fc2 = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA002", "[Peft(Method.OneLoRA)] public class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA003", "[Peft(Method.OneLoRA)] public partial class M { }" },
        { "OLORA004", "[Peft(Method.OneLoRA, Targets = \"fc*;zz\")] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA005", "[Peft(Method.LoRA, Rank = 0)] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA006", "[Peft(Method.OneLoRA)] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } public override Tensor forward(Tensor x) { Func<Tensor, Tensor> f = fc.forward; return f(x); } }" },
        { "OLORA007", "public class P : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public P() : base(\"p\") { } " + Forward + " } [Peft(Method.OneLoRA)] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); private readonly P p = new P(); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA008", "[Peft(\"Custom\")] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA009", "[Peft(Method.OneLoRA, Rank = 4)] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA010", "public class M : Module<Tensor, Tensor> { [NoPeft] private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA011", "public class Outer { [Peft(Method.OneLoRA)] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " } }" },
        { "OLORA012", "[Peft(Method.OneLoRA)] public partial class M : Module<Tensor, Tensor> { private readonly LayerNorm ln = LayerNorm(2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA013", "[Peft(Method.OneLoRA)] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); private static readonly Linear shared = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA014", "[Peft(Method.OneLoRA)] file partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
        { "OLORA015", "[Peft(Method.OneLoRA)] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } public void MergeAdapters() { } " + Forward + " }" },
        // Compiled as C# 10 below.
        { "OLORA016", "[Peft(Method.OneLoRA)] public partial class M : Module<Tensor, Tensor> { private readonly Linear fc = Linear(2, 2); public M() : base(\"m\") { } " + Forward + " }" },
    };

    private static Microsoft.CodeAnalysis.CSharp.CSharpCompilation Compile(string id, string source)
    {
        var compilation = TestCompilation.Create(source);
        if (id != "OLORA016") return compilation;
        var tree = compilation.SyntaxTrees[0];
        return compilation.ReplaceSyntaxTree(tree, tree.WithRootAndOptions(tree.GetRoot(),
            TestCompilation.ParseOptions.WithLanguageVersion(Microsoft.CodeAnalysis.CSharp.LanguageVersion.CSharp10)));
    }

    [Theory]
    [MemberData(nameof(Offenders))]
    public async Task Fires_alone_and_pragma_disable_silences_it(string id, string snippet)
    {
        var unsuppressed = Compile(id, TestCompilation.Usings + snippet);
        TestCompilation.AssertCompiles(unsuppressed);
        Assert.Equal([id], (await TestCompilation.AnalyzeAsync(unsuppressed)).Select(d => d.Id));

        var suppressed = Compile(id, $"#pragma warning disable {id}\n" + TestCompilation.Usings + snippet);
        Assert.Empty(await TestCompilation.AnalyzeAsync(suppressed));
    }

    [Fact]
    public void Every_descriptor_has_a_test_offender_a_help_link_and_the_OneLoRA_category()
    {
        var descriptors = new Microsoft.CodeAnalysis.Diagnostics.DiagnosticAnalyzer[]
            { new PeftClassAnalyzer(), new PeftOptionsAnalyzer(), new LayerUsageAnalyzer(), new NoPeftAnalyzer() }
            .SelectMany(a => a.SupportedDiagnostics).DistinctBy(d => d.Id).OrderBy(d => d.Id).ToList();
        Assert.Equal(Offenders.Select(row => (string)row[0]).Order(), descriptors.Select(d => d.Id));
        Assert.All(descriptors, d =>
        {
            Assert.Equal("OneLoRA", d.Category);
            Assert.Equal($"https://github.com/onelora/OneLoRA.Gen/blob/main/docs/diagnostics.md#{d.Id.ToLowerInvariant()}", d.HelpLinkUri);
            Assert.False(string.IsNullOrWhiteSpace(d.Description.ToString()));
        });

        // The help links point at docs/diagnostics.md: each id needs its own "## OLORA00N" section (anchor olora00n).
        var directory = new System.IO.DirectoryInfo(System.AppContext.BaseDirectory);
        while (directory is not null && !System.IO.File.Exists(System.IO.Path.Combine(directory.FullName, "OneLoRA.Gen.sln"))) directory = directory.Parent;
        Assert.NotNull(directory);
        var docs = System.IO.File.ReadAllLines(System.IO.Path.Combine(directory.FullName, "docs", "diagnostics.md"));
        Assert.All(descriptors, d => Assert.Contains("## " + d.Id, docs));
    }
}
