using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>A realistic multi-class model builds with zero OneLoRA diagnostics; a deliberately broken copy reports exactly the expected set.</summary>
public sealed class SampleModelTests
{
    private static string Sample()
    {
        using var stream = typeof(SampleModelTests).Assembly.GetManifestResourceStream("Samples/TinyVit.cs")
            ?? throw new FileNotFoundException("Embedded resource Samples/TinyVit.cs is missing.");
        return new StreamReader(stream).ReadToEnd();
    }

    [Fact]
    public async Task Clean_sample_compiles_with_zero_OneLoRA_diagnostics()
    {
        var compilation = TestCompilation.Create(Sample());
        TestCompilation.AssertCompiles(compilation);
        var diagnostics = await TestCompilation.AnalyzeAsync(compilation);
        Assert.True(diagnostics.Count == 0, "Unexpected:\n" + string.Join("\n", diagnostics));
    }

    [Fact]
    public async Task Broken_copy_reports_exactly_the_expected_ids_and_members()
    {
        var broken = Sample();
        // Each edit is one mistake a user makes; each must apply exactly once.
        broken = Edit(broken, "public partial class Mlp", "public class Mlp");                                   // OLORA002
        broken = Edit(broken, "Targets = \"qkv;out_proj\"", "Targets = \"qkv;outproj\"");                       // OLORA004 + OLORA001
        broken = Edit(broken, "qkv.forward(x).reshape", "Project(qkv, x).reshape");                            // OLORA006
        broken = Edit(broken, "    public override Tensor forward(Tensor x)\n    {\n        long b",
            "    private static Tensor Project(Linear layer, Tensor x) => layer.forward(x);\n\n    public override Tensor forward(Tensor x)\n    {\n        long b");
        broken = Edit(broken, "[Peft(Method.OneLoRA, Targets = \"proj\")]\n", "");                             // OLORA007 on TinyVit.embed
        broken = Edit(broken, "[Peft(Method.OneLoRA)]\npublic partial class Block", "[Peft(\"OneLora2\")]\npublic partial class Block"); // OLORA008
        broken = Edit(broken, "[Peft(Method.OneLoRA, TrainNorms = true)]", "[Peft(Method.OneLoRA, TrainNorms = true, Dropout = 0.1)]"); // OLORA009
        broken = Edit(broken, "    private readonly LayerNorm norm;", "    [NoPeft] private readonly LayerNorm norm;");    // OLORA010

        var compilation = TestCompilation.Create(broken);
        TestCompilation.AssertCompiles(compilation);
        var diagnostics = await TestCompilation.AnalyzeAsync(compilation);
        var actual = diagnostics.Select(d => (d.Id, Text: d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan))).ToHashSet();

        var expected = new HashSet<(string, string)>
        {
            ("OLORA001", "out_proj"),
            ("OLORA002", "Mlp"),
            ("OLORA004", "outproj"),
            ("OLORA006", "qkv"),
            ("OLORA007", "embed"),
            ("OLORA008", "\"OneLora2\""),
            ("OLORA009", "Dropout = 0.1"),
            ("OLORA010", "NoPeft"),
        };
        Assert.True(expected.SetEquals(actual) && diagnostics.Count == expected.Count,
            "Actual:\n" + string.Join("\n", diagnostics.Select(d => $"{d.Id} {d.GetMessage()}")));
    }

    private static string Edit(string text, string from, string to)
    {
        int first = text.IndexOf(from, System.StringComparison.Ordinal);
        Assert.True(first >= 0 && text.IndexOf(from, first + 1, System.StringComparison.Ordinal) < 0, $"Edit target must occur exactly once: {from}");
        return text.Remove(first, from.Length).Insert(first, to);
    }
}
