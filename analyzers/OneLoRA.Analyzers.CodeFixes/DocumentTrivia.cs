using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>Trivia the fixes copy from the document so inserted code matches its line endings and indentation.</summary>
    internal static class DocumentTrivia
    {
        /// <summary>The document's line ending (its first one; "\n" for a one-line document).</summary>
        public static SyntaxTrivia NewLine(SyntaxNode root)
        {
            var first = root.DescendantTrivia().FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
            return first.IsKind(SyntaxKind.EndOfLineTrivia) ? first : SyntaxFactory.EndOfLine("\n");
        }

        /// <summary>The whitespace that indents the member's first line.</summary>
        public static SyntaxTriviaList Indentation(MemberDeclarationSyntax member)
        {
            var last = member.GetLeadingTrivia().LastOrDefault();
            return last.IsKind(SyntaxKind.WhitespaceTrivia) ? SyntaxFactory.TriviaList(last) : SyntaxFactory.TriviaList();
        }
    }
}
