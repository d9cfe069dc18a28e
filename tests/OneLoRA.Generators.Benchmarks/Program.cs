using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Basic.Reference.Assemblies;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
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
//   dotnet run -c Release --project tests/OneLoRA.Generators.Benchmarks -- --chain 100  (compile time of a 100-deep [Peft] chain)
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
if (args is ["--chain", var n, ..])
{
    // Compile time of a [Peft] inheritance chain n deep (each class adapts its own Linear and calls its base's):
    // binding and emitting the user code alone, then with the generated code.
    int depth = int.Parse(n, System.Globalization.CultureInfo.InvariantCulture);
    var chain = Solution.Chain(depth);
    double Seconds(Action a) { var sw = System.Diagnostics.Stopwatch.StartNew(); a(); return sw.Elapsed.TotalSeconds; }
    bool Emit(Compilation c) => c.Emit(new System.IO.MemoryStream()).Success;
    bool userOk = false, allOk = false;
    Compilation generated = chain;
    var user = Seconds(() => userOk = Emit(chain));
    var gen = Seconds(() => solutionDriver(chain).RunGeneratorsAndUpdateCompilation(chain, out generated, out _));
    var all = Seconds(() => allOk = Emit(generated));
    if (Environment.GetEnvironmentVariable("CHAIN_PROFILE") == "1")
    {
        // Which generated part costs: per tree, the time to get its semantic diagnostics.
        var times = generated.SyntaxTrees.Select(t => (t.FilePath, S: Seconds(() => generated.GetSemanticModel(t).GetDiagnostics()))).OrderByDescending(t => t.S).Take(5);
        foreach (var (path, sec) in times) Console.WriteLine($"  {sec:F3} s  {path}");
    }
    Console.WriteLine($"chain {depth} deep: user code {user:F2} s (emit ok: {userOk}); generator {gen:F2} s; user + generated {all:F2} s (emit ok: {allOk}); load {System.IO.File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
    return userOk && allOk ? 0 : 1;
}
// In process: BenchmarkDotNet's default builds a separate project per run, which times out (2 min) on a loaded 2-core machine.
BenchmarkRunner.Run<GeneratorBenchmarks>(
    BenchmarkDotNet.Configs.DefaultConfig.Instance.AddJob(BenchmarkDotNet.Jobs.Job.Default.WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance)),
    args);
return 0;

static GeneratorDriver solutionDriver(Compilation _) => new Solution(0).Driver();

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

        /// <summary>C0 … C(depth−1), each a [Peft] class deriving from the previous one.</summary>
        public static CSharpCompilation Chain(int depth)
        {
            var sb = new System.Text.StringBuilder("""
                using OneLoRA;
                using TorchSharp.Modules;
                using static TorchSharp.torch;
                namespace Deep;
                [Peft(Method.OneLoRA)]
                public partial class C0 : nn.Module<Tensor, Tensor>
                {
                    protected readonly Linear fc0 = nn.Linear(2, 2);
                    public C0() : base("c") { }
                    public override Tensor forward(Tensor x) => fc0.forward(x);
                }

                """);
            for (int i = 1; i < depth; i++)
                sb.Append($$"""
                    [Peft(Method.OneLoRA)]
                    public partial class C{{i}} : C{{i - 1}}
                    {
                        protected readonly Linear fc{{i}} = nn.Linear(2, 2);
                        public override Tensor forward(Tensor x) => fc{{i}}.forward(fc0.forward(x));
                    }

                    """);
            return CSharpCompilation.Create("Chain", [CSharpSyntaxTree.ParseText(sb.ToString(), Parse, "Deep.cs")], References,
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
