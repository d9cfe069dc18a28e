using System;
using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis.Text;

namespace OneLoRA.Analyzers.Tests.Infrastructure;

/// <summary>An expected diagnostic: its id and the exact span it must underline.</summary>
internal sealed record ExpectedDiagnostic(string Id, TextSpan Span, string Text);

/// <summary>
/// Source with expected diagnostics marked inline as <c>{|OLORA001:fc3|}</c>: the marker is removed and the
/// span of its content recorded, so tests state ids and exact spans where they are visible.
/// </summary>
internal static class Markup
{
    public static (string Source, List<ExpectedDiagnostic> Expected) Parse(string markup)
    {
        var source = new StringBuilder();
        var expected = new List<ExpectedDiagnostic>();
        int i = 0;
        while (i < markup.Length)
        {
            int open = markup.IndexOf("{|", i, StringComparison.Ordinal);
            if (open < 0) { source.Append(markup, i, markup.Length - i); break; }
            source.Append(markup, i, open - i);
            int colon = markup.IndexOf(':', open);
            int close = markup.IndexOf("|}", colon, StringComparison.Ordinal);
            if (colon < 0 || close < 0) throw new FormatException($"Unclosed diagnostic marker at {open}.");
            var id = markup.Substring(open + 2, colon - open - 2);
            var text = markup.Substring(colon + 1, close - colon - 1);
            expected.Add(new ExpectedDiagnostic(id, new TextSpan(source.Length, text.Length), text));
            source.Append(text);
            i = close + 2;
        }
        return (source.ToString(), expected);
    }
}
