using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace OneLoRA.Analyzers
{
    /// <summary>Finds where each glob of a Targets/Exclude argument is written, so a diagnostic can underline just that glob.</summary>
    internal static class GlobSpans
    {
        /// <summary>
        /// The globs of <paramref name="value"/> in TargetGlob.Split's order, each with its location inside the string
        /// literal; when the text is not a plain literal (escapes, constants, concatenation) every glob gets the whole argument.
        /// </summary>
        public static List<(string Glob, Location Location)> Locate(ExpressionSyntax expression, string value)
        {
            var result = new List<(string, Location)>();
            var contentStart = ContentStart(expression, value);
            int start = 0;
            while (start <= value.Length)
            {
                int end = value.IndexOf(';', start);
                if (end < 0) end = value.Length;
                int from = start, to = end;
                while (from < to && char.IsWhiteSpace(value[from])) from++;
                while (to > from && char.IsWhiteSpace(value[to - 1])) to--;
                if (to > from)
                {
                    var glob = value.Substring(from, to - from);
                    var location = contentStart is int s
                        ? Location.Create(expression.SyntaxTree, new TextSpan(s + from, to - from))
                        : expression.GetLocation();
                    result.Add((glob, location));
                }
                start = end + 1;
            }
            return result;
        }

        /// <summary>Position of the literal's first character when its source text is exactly its value.</summary>
        private static int? ContentStart(ExpressionSyntax expression, string value)
        {
            if (expression is not LiteralExpressionSyntax literal || !literal.Token.IsKind(SyntaxKind.StringLiteralToken)) return null;
            var text = literal.Token.Text;
            int prefix = text.StartsWith("@\"", System.StringComparison.Ordinal) ? 2 : text.StartsWith("\"", System.StringComparison.Ordinal) ? 1 : -1;
            if (prefix < 0 || text.Length < prefix + 1) return null;
            var content = text.Substring(prefix, text.Length - prefix - 1);
            return content == value ? literal.Token.SpanStart + prefix : null;
        }
    }
}
