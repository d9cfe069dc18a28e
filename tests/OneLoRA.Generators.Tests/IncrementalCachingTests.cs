using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using OneLoRA.Generators.Model;

namespace OneLoRA.Generators.Tests;

/// <summary>Edits that cannot change the output must leave every tracked pipeline step cached.</summary>
public class IncrementalCachingTests
{
    private const string BlockFields = """
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Caching;

        [Peft(Method.OneLoRA, Targets = "q;v")]
        public partial class Block : nn.Module<Tensor, Tensor>
        {
            private readonly Linear q = nn.Linear(4, 4);
            private readonly Linear v = nn.Linear(4, 4);

            public Block() : base(nameof(Block)) => RegisterComponents();
        }
        """;

    private const string BlockForward = """
        using static TorchSharp.torch;

        namespace Caching;

        public partial class Block
        {
            public override Tensor forward(Tensor x) => q.forward(x) + v.call(x);
        }
        """;

    private const string Head = """
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Caching;

        [Peft(Method.OneLoRA)]
        public partial class Head : nn.Module<Tensor, Tensor>
        {
            private readonly Linear proj = nn.Linear(4, 2);

            public Head() : base(nameof(Head)) => RegisterComponents();

            public override Tensor forward(Tensor x) => proj.forward(x);
        }
        """;

    private const string Unrelated = """
        namespace Caching;

        public static class Numbers
        {
            public static int Two() => 2;
        }
        """;

    private static string[] TrackedNames => [TrackingNames.PeftClass, TrackingNames.GeneratedClass];

    private static (GeneratorDriver Driver, CSharpCompilation Compilation) FirstRun()
    {
        var compilation = TestCompilation.Create(
            ("BlockFields.cs", BlockFields), ("BlockForward.cs", BlockForward), ("Head.cs", Head), ("Unrelated.cs", Unrelated));
        var driver = TestCompilation.CreateDriver().RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        Assert.Null(first.Exception);
        Assert.Equal(2, first.GeneratedSources.Length);
        return (driver, compilation);
    }

    private static CSharpCompilation Replace(CSharpCompilation compilation, string path, string newText)
    {
        var old = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        return compilation.ReplaceSyntaxTree(old, old.WithChangedText(SourceText.From(newText)));
    }

    private static GeneratorRunResult Rerun(GeneratorDriver driver, CSharpCompilation edited)
    {
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        return result;
    }

    private static void AssertAllCached(GeneratorRunResult result)
    {
        foreach (var name in TrackedNames)
        {
            Assert.True(result.TrackedSteps.ContainsKey(name), $"step '{name}' was not tracked");
            var outputs = result.TrackedSteps[name].SelectMany(step => step.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(
                o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"step '{name}' output was {o.Reason}"));
        }
        var emitted = result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(step => step.Outputs).ToList();
        Assert.NotEmpty(emitted);
        Assert.All(emitted, o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void EditingAnUnrelatedFileKeepsEveryStepCached()
    {
        var (driver, compilation) = FirstRun();
        var edited = Replace(compilation, "Unrelated.cs", Unrelated.Replace("=> 2;", "=> 1 + 1;\n    public static int Three() => 3;"));
        AssertAllCached(Rerun(driver, edited));
    }

    [Fact]
    public void WhitespaceEditInTheAttributedFileKeepsEveryStepCached()
    {
        var (driver, compilation) = FirstRun();
        var edited = Replace(compilation, "BlockFields.cs", BlockFields.Replace("    private readonly Linear q", "\n\n        private   readonly Linear q"));
        AssertAllCached(Rerun(driver, edited));
    }

    [Fact]
    public void WhitespaceEditInAFileWithCallSitesChangesOnlyTheCallLocations()
    {
        var (driver, compilation) = FirstRun();
        var before = ModelsByClass(driver.GetRunResult().Results.Single());
        var edited = Replace(compilation, "BlockForward.cs", BlockForward.Replace("public override", "\n    public  override"));
        var result = Rerun(driver, edited);
        var after = ModelsByClass(result);

        // InterceptsLocation data hashes the file's text, so Block's call sites must be re-emitted...
        Assert.NotEqual(before["Block"].Calls, after["Block"].Calls);
        // ...while its layer table and options compare equal, and Head (another file) stays cached.
        Assert.Equal(before["Block"].Class, after["Block"].Class);
        var headOutputs = result.TrackedSteps[TrackingNames.GeneratedClass].SelectMany(s => s.Outputs)
            .Where(o => ((PeftClassModel)o.Value).Class.DisplayName == "Head").ToList();
        Assert.NotEmpty(headOutputs);
        Assert.All(headOutputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
    }

    private static Dictionary<string, PeftClassModel> ModelsByClass(GeneratorRunResult result) =>
        result.TrackedSteps[TrackingNames.GeneratedClass].SelectMany(s => s.Outputs)
            .Select(o => (PeftClassModel)o.Value)
            .ToDictionary(m => m.Class.DisplayName);
}
