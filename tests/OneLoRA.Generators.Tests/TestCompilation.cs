using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using OneLoRA.Generators;

namespace OneLoRA.Generators.Tests;

/// <summary>In-memory compilations against .NET 10 reference assemblies, real TorchSharp and the OneLoRA runtime.</summary>
internal static class TestCompilation
{
    /// <summary>Latest C# with the interceptors namespace enabled (without it: CS9137).</summary>
    public static readonly CSharpParseOptions ParseOptions = CSharpParseOptions.Default
        .WithLanguageVersion(LanguageVersion.Latest)
        .WithFeatures([new KeyValuePair<string, string>("InterceptorsNamespaces", "OneLoRA.Generated")]);

    private static readonly Lazy<ImmutableArray<MetadataReference>> LazyReferences = new(() =>
        Net100.References.All.CastArray<MetadataReference>()
            .Add(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location))
            .Add(MetadataReference.CreateFromFile(typeof(OneLoRA.Peft).Assembly.Location)));

    public static ImmutableArray<MetadataReference> References => LazyReferences.Value;

    /// <summary>A library compilation of the given files (path, source).</summary>
    public static CSharpCompilation Create(params (string Path, string Source)[] files) =>
        CSharpCompilation.Create(
            "GeneratorTestAssembly",
            files.Select(f => CSharpSyntaxTree.ParseText(f.Source, ParseOptions, f.Path)),
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
                // As the SDK does: TorchSharp targets net8.0, its System.Runtime 8 reference unifies with 10.
                .WithSpecificDiagnosticOptions([new("CS1701", ReportDiagnostic.Suppress), new("CS1702", ReportDiagnostic.Suppress)]));

    /// <summary>A driver for the generator that records every pipeline step.</summary>
    public static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            [new PeftGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator once; returns the driver (for re-runs), its result and the updated compilation.</summary>
    public static (GeneratorDriver Driver, GeneratorDriverRunResult Result, Compilation Output) Run(Compilation compilation)
    {
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver, driver.GetRunResult(), output);
    }

    /// <summary>The single generated file's text; fails when the generator threw or produced another count.</summary>
    public static string SingleGeneratedSource(GeneratorDriverRunResult result, string hintName)
    {
        var run = Assert.Single(result.Results);
        Assert.Null(run.Exception);
        var source = Assert.Single(run.GeneratedSources, s => s.HintName == hintName);
        return source.SourceText.ToString();
    }

    /// <summary>Errors and warnings of a compilation, formatted one per line (empty when clean).</summary>
    public static string Problems(Compilation compilation) =>
        string.Join(Environment.NewLine, compilation.GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .Select(d => d.ToString()));
}
