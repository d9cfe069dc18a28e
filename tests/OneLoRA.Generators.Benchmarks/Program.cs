using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Basic.Reference.Assemblies;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using OneLoRA.Generators;
using OneLoRA.Generators.Benchmarks;

// The generator's cost (issue #13): BenchmarkDotNet over a 300-class solution (first run, rerun after an unrelated
// edit, rerun after an edit inside one [Peft] file), plus a check that the unrelated edit regenerates nothing.
//
//   dotnet run -c Release --project tests/OneLoRA.Generators.Benchmarks -- --check      (caching check, exit 1 on failure)
//   dotnet run -c Release --project tests/OneLoRA.Generators.Benchmarks [-- BenchmarkDotNet options]

if (args is ["--check", ..])
{
    var solution = new Solution(300);
    var driver = solution.Driver().RunGenerators(solution.Compilation);
    var first = driver.GetRunResult().Results.Single();
    var rerun = driver.RunGenerators(solution.EditUnrelated()).GetRunResult().Results.Single();
    var regenerated = rerun.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs)
        .Count(o => o.Reason is not IncrementalStepRunReason.Cached);
    var models = rerun.TrackedSteps[TrackingNames.GeneratedClass].SelectMany(s => s.Outputs)
        .Count(o => o.Reason is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
    Console.WriteLine($"{solution.Classes} [Peft] classes: first run generated {first.GeneratedSources.Length} files " +
                      $"(exception: {first.Exception?.Message ?? "none"}); after an unrelated edit: {regenerated} outputs regenerated, {models} models recomputed.");
    return first.Exception is null && first.GeneratedSources.Length == solution.Classes && regenerated == 0 && models == 0 ? 0 : 1;
}
BenchmarkRunner.Run<GeneratorBenchmarks>(args: args);
return 0;

namespace OneLoRA.Generators.Benchmarks
{
    /// <summary>
    /// A solution of <see cref="Classes"/> [Peft] blocks, one file each (three Linears, a LayerNorm, a forward that calls
    /// them), plus one unrelated file.
    /// </summary>
    public sealed class Solution
    {
        private static readonly CSharpParseOptions Parse = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest)
            .WithFeatures([new KeyValuePair<string, string>("InterceptorsNamespaces", "OneLoRA.Generated")]);

        private static readonly ImmutableArray<MetadataReference> References = Net100.References.All.CastArray<MetadataReference>()
            .Add(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location))
            .Add(MetadataReference.CreateFromFile(typeof(OneLoRA.Peft).Assembly.Location));

        public Solution(int classes)
        {
            Classes = classes;
            var trees = Enumerable.Range(0, classes).Select(i => CSharpSyntaxTree.ParseText(Block(i), Parse, $"Block{i}.cs"))
                .Append(CSharpSyntaxTree.ParseText(Unrelated(2), Parse, "Unrelated.cs"));
            Compilation = CSharpCompilation.Create("Solution", trees, References,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)
                    .WithSpecificDiagnosticOptions([new("CS1701", ReportDiagnostic.Suppress), new("CS1702", ReportDiagnostic.Suppress)]));
        }

        public int Classes { get; }
        public CSharpCompilation Compilation { get; }

        public GeneratorDriver Driver() => CSharpGeneratorDriver.Create([new PeftGenerator().AsSourceGenerator()], parseOptions: Parse,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

        public CSharpCompilation EditUnrelated() => Replace("Unrelated.cs", Unrelated(3));

        public CSharpCompilation EditBlock(int i) => Replace($"Block{i}.cs", Block(i).Replace("x + fc2", "fc2.forward(x) * 0 + x + fc2"));

        private CSharpCompilation Replace(string path, string text)
        {
            var old = Compilation.SyntaxTrees.Single(t => t.FilePath == path);
            return Compilation.ReplaceSyntaxTree(old, old.WithChangedText(SourceText.From(text)));
        }

        private static string Unrelated(int n) => $"namespace App; public static class Numbers {{ public static int N() => {n}; }}";

        private static string Block(int i) => $$"""
            using OneLoRA;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            namespace App.Blocks{{i % 10}};

            [Peft(Method.OneLoRA, Targets = "*")]
            public partial class Block{{i}} : nn.Module<Tensor, Tensor>
            {
                private readonly LayerNorm ln = nn.LayerNorm(16);
                private readonly Linear fc1 = nn.Linear(16, 32), fc2 = nn.Linear(32, 16), gate = nn.Linear(16, 16);

                public Block{{i}}() : base("Block{{i}}") => RegisterComponents();

                public override Tensor forward(Tensor x) =>
                    x + fc2.forward(nn.functional.gelu(fc1.forward(ln.forward(x)))) * nn.functional.sigmoid(gate.forward(x));
            }
            """;
    }

    /// <summary>Time and allocations of the generator on the 300-class solution.</summary>
    [MemoryDiagnoser]
    public class GeneratorBenchmarks
    {
        private Solution solution = null!;
        private GeneratorDriver warm = null!;
        private CSharpCompilation unrelatedEdit = null!, blockEdit = null!;

        [GlobalSetup]
        public void Setup()
        {
            solution = new Solution(300);
            warm = solution.Driver().RunGenerators(solution.Compilation);
            unrelatedEdit = solution.EditUnrelated();
            blockEdit = solution.EditBlock(7);
        }

        [Benchmark(Baseline = true)]
        public GeneratorDriver FirstRun() => solution.Driver().RunGenerators(solution.Compilation);

        [Benchmark]
        public GeneratorDriver RerunAfterUnrelatedEdit() => warm.RunGenerators(unrelatedEdit);

        [Benchmark]
        public GeneratorDriver RerunAfterEditInOneBlock() => warm.RunGenerators(blockEdit);
    }
}
