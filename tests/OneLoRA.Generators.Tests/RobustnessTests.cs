using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace OneLoRA.Generators.Tests;

/// <summary>The generator never throws, whatever state the user's code is in (it reports nothing; analyzers do).</summary>
public class RobustnessTests
{
    private const string Usings = """
        using System;
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        """;

    /// <summary>Broken or unusual code, each case named.</summary>
    public static readonly Dictionary<string, string> Corpus = new()
    {
        ["unfinished class declaration"] = "[Peft(Method.OneLoRA)] public partial class",
        ["unfinished class body"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { private readonly Linear fc",
        ["attribute without arguments"] = "[Peft] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x); }",
        ["attribute argument of wrong type"] = "[Peft(42)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x); }",
        ["undefined enum value"] = "[Peft((Method)99)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x); }",
        ["null method name and null globs"] = "[Peft((string)null!, Targets = null!, Exclude = null!)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x); }",
        ["named argument of wrong type"] = "[Peft(Method.OneLoRA, Rank = \"two\", Alpha = true)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x); }",
        ["unknown named argument"] = "[Peft(Method.OneLoRA, Unknown = 3)] public partial class A : nn.Module<Tensor, Tensor> { public A() : base(\"A\") { } public override Tensor forward(Tensor x) => x; }",
        ["special double values"] = "[Peft(Method.OneLoRA, Alpha = double.NaN, Dropout = double.PositiveInfinity)] public partial class A : nn.Module<Tensor, Tensor> { public A() : base(\"A\") { } public override Tensor forward(Tensor x) => x; }",
        ["not partial"] = "[Peft(Method.OneLoRA)] public class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x); }",
        ["not a module"] = "[Peft(Method.OneLoRA)] public partial class A { Linear fc = nn.Linear(1, 1); public Tensor Run(Tensor x) => fc.forward(x); }",
        ["unresolved base type"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Modul<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); }",
        ["containing type not partial"] = "public class Outer { [Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x); } }",
        ["attribute twice on one part"] = "[Peft(Method.OneLoRA)][Peft(Method.LoRA)] public partial class A : nn.Module<Tensor, Tensor> { public A() : base(\"A\") { } public override Tensor forward(Tensor x) => x; }",
        ["attribute on two parts"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { public A() : base(\"A\") { } } [Peft(Method.LoRA)] public partial class A { public override Tensor forward(Tensor x) => x; }",
        ["attribute on a struct"] = "[Peft(Method.OneLoRA)] public partial struct S { }",
        ["attribute on a method"] = "public partial class A : nn.Module<Tensor, Tensor> { public A() : base(\"A\") { } [Peft(Method.OneLoRA)] public override Tensor forward(Tensor x) => x; }",
        ["static class"] = "[Peft(Method.OneLoRA)] public static partial class A { static Linear fc = nn.Linear(1, 1); }",
        ["members of unknown types"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { Missing fc; ModuleList<Missing> list; Missing[] array; public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x) + list[0].call(x); }",
        ["odd member shapes"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { Linear[,] grid; Linear[][] jagged; public Linear this[int i] => null!; public Linear WriteOnly { set { } } Linear? maybe; public A() : base(\"A\") { } public override Tensor forward(Tensor x) => grid[0, 0].forward(x) + jagged[0][0].forward(x) + this[0].forward(x) + maybe!.forward(x); }",
        ["calls with wrong arity"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward() + fc.forward(x, x) + fc.call(); }",
        ["unfinished call"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(",
        ["instance member used in static context"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => x; static Tensor F(Tensor x) => fc.forward(x); }",
        ["method groups, conditional access and delegates"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) { Func<Tensor, Tensor> f = fc.forward; return f(x) + fc?.forward(x)! + (fc).forward(x); } }",
        ["self-referencing nested [Peft] member"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { A? child; Linear fc = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x); }",
        ["nested [Peft] type that is not partial"] = "[Peft(Method.OneLoRA)] public sealed class B : nn.Module<Tensor, Tensor> { public B() : base(\"B\") { } public override Tensor forward(Tensor x) => x; } [Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { B b = new B(); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => b.forward(x); }",
        ["keyword-named members and class"] = "[Peft(Method.OneLoRA)] public partial class @class : nn.Module<Tensor, Tensor> { Linear @base = nn.Linear(1, 1); ModuleList<Linear> @event = new(); public @class() : base(\"c\") { } public override Tensor forward(Tensor x) => @base.forward(x) + this.@event[0].call(x); }",
        ["generic class"] = "[Peft(Method.OneLoRA)] public partial class G<T> : nn.Module<Tensor, Tensor> where T : class { Linear fc = nn.Linear(1, 1); public G() : base(\"G\") { } public override Tensor forward(Tensor x) => fc.forward(x); }",
        ["same name generic and non-generic"] = "[Peft(Method.OneLoRA)] public partial class G : nn.Module<Tensor, Tensor> { public G() : base(\"G\") { } public override Tensor forward(Tensor x) => x; } [Peft(Method.OneLoRA)] public partial class G<T> : nn.Module<Tensor, Tensor> { public G() : base(\"G\") { } public override Tensor forward(Tensor x) => x; }",
        ["garbage tokens"] = "[Peft(Method.OneLoRA)] partial class A : nn.Module<Tensor, Tensor> { ))) ;;; Linear fc = ; forward(x) => fc.forward(x) } } }",
        ["attribute missing its type"] = "[Peft(Method.OneLoRA)] public partial class A : nn.Module<Tensor, Tensor> { [NoPeft(1)] Linear fc = nn.Linear(1, 1); [Unknown] Linear g = nn.Linear(1, 1); public A() : base(\"A\") { } public override Tensor forward(Tensor x) => fc.forward(x) + g.forward(x); }",
    };

    public static IEnumerable<object[]> Cases => Corpus.Keys.Select(k => new object[] { k });

    [Fact]
    public void CorpusHasAtLeastTwentyCases() => Assert.True(Corpus.Count >= 20);

    [Theory]
    [MemberData(nameof(Cases))]
    public void GeneratorNeverThrows(string name)
    {
        var compilation = TestCompilation.Create(("Broken.cs", Usings + "namespace Broken;\n" + Corpus[name]));
        var (_, result, output) = TestCompilation.Run(compilation);
        var run = Assert.Single(result.Results);
        Assert.True(run.Exception is null, run.Exception?.ToString());
        Assert.Empty(run.Diagnostics);
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Id is "CS8784" or "CS8785");   // generator failed to initialise/run
    }

    [Theory]
    [InlineData("not partial")]
    [InlineData("not a module")]
    [InlineData("unresolved base type")]
    [InlineData("containing type not partial")]
    [InlineData("attribute on a struct")]
    [InlineData("static class")]
    public void ClassesTheGeneratedCodeCannotExtendGetNoFile(string name)
    {
        var (_, result, _) = TestCompilation.Run(TestCompilation.Create(("Broken.cs", Usings + "namespace Broken;\n" + Corpus[name])));
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Theory]
    [InlineData("attribute twice on one part", "Broken.A.Peft.g.cs")]
    [InlineData("attribute on two parts", "Broken.A.Peft.g.cs")]
    [InlineData("same name generic and non-generic", "Broken.G.Peft.g.cs;Broken.G`1.Peft.g.cs")]
    public void OneFilePerClass(string name, string hintNames)
    {
        var (_, result, _) = TestCompilation.Run(TestCompilation.Create(("Broken.cs", Usings + "namespace Broken;\n" + Corpus[name])));
        Assert.Equal(hintNames.Split(';'), result.Results.Single().GeneratedSources.Select(s => s.HintName).Order());
    }

    [Theory]
    [InlineData("keyword-named members and class")]
    [InlineData("generic class")]
    [InlineData("self-referencing nested [Peft] member")]
    [InlineData("special double values")]
    public void UnusualButValidCodeCompilesCleanly(string name)
    {
        var (_, _, output) = TestCompilation.Run(TestCompilation.Create(("Valid.cs", Usings + "namespace Valid;\n" + Corpus[name])));
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
