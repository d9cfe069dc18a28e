using System.Diagnostics;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Xunit.Abstractions;

namespace OneLoRA.Generators.Tests;

/// <summary>
/// Large inputs stay correct (and, measured in the printed timings and the benchmarks, fast): a [Peft] inheritance chain
/// 200 deep and a class with 4,000 intercepted call sites. No timing is asserted here.
/// </summary>
public class ScaleTests(ITestOutputHelper output)
{
    private static string Chain(int depth)
    {
        var sb = new StringBuilder("""
            using OneLoRA;
            using TorchSharp;
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
        return sb.ToString();
    }

    [Theory]
    [InlineData(100)]
    [InlineData(200)]
    public void InheritanceChainGeneratesOneFilePerClass(int depth)
    {
        var compilation = TestCompilation.Create(("Deep.cs", Chain(depth)));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var (_, result, _) = TestCompilation.Run(compilation);
        output.WriteLine($"depth {depth}: generator {clock.Elapsed.TotalSeconds:F2} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F2} s process CPU");

        var run = Assert.Single(result.Results);
        Assert.Null(run.Exception);
        Assert.Equal(depth, run.GeneratedSources.Length);
        // The deepest class chains to every base; each class intercepts its own call and the one on the root's fc0.
        var last = run.GeneratedSources.Single(s => s.HintName == $"Deep.C{depth - 1}.Peft.g.cs").SourceText.ToString();
        Assert.Contains("base.CollectTargetLayers(prefix)", last);
        var sites = last.Split('\n').Where(l => l.TrimStart().StartsWith("// Deep.cs:", System.StringComparison.Ordinal))
            .Select(l => l.Substring(l.IndexOf(": ", System.StringComparison.Ordinal) + 2)).Order().ToList();
        Assert.Equal([$"fc0.forward(x)", $"fc{depth - 1}.forward(fc0.forward(x))"], sites);
        Assert.Equal(2, last.Split("[global::System.Runtime.CompilerServices.InterceptsLocation(").Length - 1);
    }

    [Fact]
    public void InheritanceChainCompilesWithItsGeneratedCode()
    {
        // Shallower than above: compiling the whole chain is the compiler's cost, measured in docs/generator.md.
        var (_, result, compiled) = TestCompilation.Run(TestCompilation.Create(("Deep.cs", Chain(30))));
        Assert.Equal(30, Assert.Single(result.Results).GeneratedSources.Length);
        var errors = compiled.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(5)));
    }
}
