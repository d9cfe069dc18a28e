using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Xunit;

namespace OneLoRA.Analyzers.Tests.Infrastructure;

/// <summary>Runs the analyzers over marked-up snippets and compares ids and spans exactly.</summary>
internal static class AnalyzerAssert
{
    /// <summary>
    /// Compiles <see cref="TestCompilation.Usings"/> + the snippet (+ other files; all must compile), runs every analyzer,
    /// and asserts the reported diagnostics are exactly the marked ones (id and span) and none are in the other files.
    /// Returns them in source order for message checks.
    /// </summary>
    public static async Task<IReadOnlyList<Diagnostic>> DiagnosticsAsync(string markup, params string[] otherFiles)
    {
        var (source, expected) = Markup.Parse(TestCompilation.Usings + markup);
        var compilation = TestCompilation.Create([source, .. otherFiles.Select(f => TestCompilation.Usings + f)]);
        TestCompilation.AssertCompiles(compilation);
        var actual = await TestCompilation.AnalyzeAsync(compilation);

        string Describe(Diagnostic d) =>
            $"  {d.Id} on '{d.Location.SourceTree?.GetText().ToString(d.Location.SourceSpan)}' in {d.Location.SourceTree?.FilePath}: " +
            d.GetMessage(CultureInfo.InvariantCulture);
        var expectedKeys = expected.Select(e => $"File0.cs {e.Span} {e.Id} '{e.Text}'").Order().ToList();
        var actualKeys = actual.Select(d =>
            $"{d.Location.SourceTree?.FilePath} {d.Location.SourceSpan} {d.Id} '{d.Location.SourceTree?.GetText().ToString(d.Location.SourceSpan)}'").Order().ToList();
        Assert.True(expectedKeys.SequenceEqual(actualKeys),
            "Expected:\n  " + string.Join("\n  ", expectedKeys) + "\nActual:\n" + string.Join("\n", actual.Select(Describe)));
        return actual;
    }

    /// <summary>Asserts exactly one diagnostic (marked in the snippet) and returns its invariant-culture message.</summary>
    public static async Task<string> SingleMessageAsync(string markup, params string[] otherFiles)
    {
        var diagnostics = await DiagnosticsAsync(markup, otherFiles);
        return Assert.Single(diagnostics).GetMessage(CultureInfo.InvariantCulture);
    }
}
