using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Xunit;

namespace OneLoRA.Analyzers.Tests.Infrastructure;

/// <summary>In-memory compilations against .NET 10 reference assemblies, the real TorchSharp and the OneLoRA runtime.</summary>
internal static class TestCompilation
{
    /// <summary>Usings every snippet starts with (as a model file would).</summary>
    public const string Usings = """
        using System;
        using System.Collections.Generic;
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;

    public static readonly ImmutableArray<MetadataReference> References =
    [
        .. Basic.Reference.Assemblies.Net100.References.All,
        MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(OneLoRA.PeftAttribute).Assembly.Location),
    ];

    public static readonly CSharpParseOptions ParseOptions = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);

    public static readonly CSharpCompilationOptions Options =
        new(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable);

    /// <summary>Every analyzer the package ships.</summary>
    public static ImmutableArray<DiagnosticAnalyzer> Analyzers =>
        [new PeftClassAnalyzer(), new PeftOptionsAnalyzer(), new LayerUsageAnalyzer(), new NoPeftAnalyzer()];

    public static CSharpCompilation Create(params string[] sources) =>
        CSharpCompilation.Create("Snippet",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"File{i}.cs")),
            References, Options);

    /// <summary>Compiler errors of the compilation (test snippets must compile, so a failing analyzer is not hidden by broken code).</summary>
    public static void AssertCompiles(Compilation compilation)
    {
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "Snippet does not compile:\n" + string.Join("\n", errors));
    }

    /// <summary>OneLoRA diagnostics (those the analyzers report, after #pragma and suppression) in source order.</summary>
    public static async Task<IReadOnlyList<Diagnostic>> AnalyzeAsync(Compilation compilation)
    {
        var withAnalyzers = compilation.WithAnalyzers(Analyzers, new CompilationWithAnalyzersOptions(
            new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: false,
            reportSuppressedDiagnostics: false));
        var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync();
        var failures = diagnostics.Where(d => d.Id == "AD0001").ToList();
        Assert.True(failures.Count == 0, "Analyzer threw:\n" + string.Join("\n", failures));
        return diagnostics
            .OrderBy(d => d.Location.SourceTree?.FilePath, System.StringComparer.Ordinal)
            .ThenBy(d => d.Location.SourceSpan.Start)
            .ThenBy(d => d.Id, System.StringComparer.Ordinal)
            .ToList();
    }
}
