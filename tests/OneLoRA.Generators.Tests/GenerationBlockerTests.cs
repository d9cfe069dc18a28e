using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace OneLoRA.Generators.Tests;

/// <summary>
/// Classes the generated code could not compile next to (file-local, a generated member's name taken, C# before 11) get
/// no file, so the user's code still compiles; the analyzers report why (OLORA014-016, see the analyzer tests).
/// </summary>
public class GenerationBlockerTests
{
    private const string Usings = """
        using System;
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        """;

    private static string Mlp(string modifiers, string extra = "", string typeParameters = "", string name = "Mlp") => $$"""
        [Peft(Method.OneLoRA)]
        {{modifiers}} partial class {{name}}{{typeParameters}} : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc = nn.Linear(2, 2);
            public {{name}}() : base("m") { RegisterComponents(); }
            public override Tensor forward(Tensor x) { return fc.forward(x); }
            {{extra}}
        }
        """;

    public static TheoryData<string, string> Cases => new()
    {
        { "file class", Mlp("file") },
        { "nested in a file class", "file partial class Outer {\n" + Mlp("public") + "\n}" },
        { "method named MergeAdapters", Mlp("public", "public void MergeAdapters() { }") },
        { "overload named AttachAdapters", Mlp("public", "public int AttachAdapters(int n) => n;") },
        { "property named PeftLayers", Mlp("public", "public int PeftLayers { get; set; }") },
        { "field named DefaultPeftOptions", Mlp("public", "private readonly int DefaultPeftOptions = 1;") },
        { "nested type named CollectTargetLayers", Mlp("public", "public sealed class CollectTargetLayers { }") },
        { "event named UnmergeAdapters", Mlp("public", "public event Action? UnmergeAdapters;") },
        { "member with the __Peft prefix", Mlp("public", "private static int __PeftLayerTable = 0;") },
        { "type parameter named PeftLayers", Mlp("public", typeParameters: "<PeftLayers>") },
        { "inherited from a non-[Peft] base", "public abstract class Trainable : nn.Module<Tensor, Tensor> { protected Trainable() : base(\"t\") { } public virtual void MergeAdapters() { } }\n"
            + Mlp("public").Replace("nn.Module<Tensor, Tensor>", "Trainable").Replace(": base(\"m\")", "") },
    };

    private static (GeneratorRunResult Run, Compilation Output) Generate(string source, LanguageVersion version = LanguageVersion.Latest)
    {
        var compilation = TestCompilation.Create(("Blocked.cs", Usings + "namespace Blocked\n{\n" + source + "\n}\n"));
        var tree = compilation.SyntaxTrees[0];
        compilation = compilation.ReplaceSyntaxTree(tree, tree.WithRootAndOptions(tree.GetRoot(), TestCompilation.ParseOptions.WithLanguageVersion(version)));
        var driver = CSharpGeneratorDriver.Create([new PeftGenerator().AsSourceGenerator()],
                parseOptions: TestCompilation.ParseOptions.WithLanguageVersion(version))
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var run = Assert.Single(driver.GetRunResult().Results);
        Assert.True(run.Exception is null, run.Exception?.ToString());
        return (run, output);
    }

    private static void AssertNoErrors(Compilation output)
    {
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BlockedClassGetsNoFileAndTheUserCodeCompiles(string name, string source)
    {
        var (run, output) = Generate(source);
        Assert.True(run.GeneratedSources.IsEmpty, name + ": " + string.Join(", ", run.GeneratedSources.Select(s => s.HintName)));
        AssertNoErrors(output);
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp10)]
    [InlineData(LanguageVersion.CSharp9)]
    [InlineData(LanguageVersion.CSharp8)]
    public void BelowCSharp11NothingIsGeneratedAndTheUserCodeCompiles(LanguageVersion version)
    {
        var (run, output) = Generate(Mlp("public"), version);
        Assert.Empty(run.GeneratedSources);
        AssertNoErrors(output);
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp11)]
    [InlineData(LanguageVersion.CSharp12)]
    public void FromCSharp11TheGeneratedCodeCompiles(LanguageVersion version)
    {
        var (run, output) = Generate(Mlp("public") + "\n" + Mlp("public", "public void MergeAdapter() { } private int _PeftCount;", name: "Other"), version);
        Assert.Equal(["Blocked.Mlp.Peft.g.cs", "Blocked.Other.Peft.g.cs"], run.GeneratedSources.Select(s => s.HintName).Order());
        AssertNoErrors(output);
        Assert.NotEmpty(output.GetTypeByMetadataName("Blocked.Mlp")!.GetMembers("AttachAdapters"));
    }
}
