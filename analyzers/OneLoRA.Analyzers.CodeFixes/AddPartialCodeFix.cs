using System;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>Makes a [Peft] class, or a type containing one, partial (OLORA002, OLORA011).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddPartialCodeFix)), Shared]
    public sealed class AddPartialCodeFix : SyntaxCodeFix
    {
        /// <summary>Identifies this fix among the actions offered for a diagnostic.</summary>
        public const string EquivalenceKey = "OneLoRA.AddPartial";

        /// <summary>Fixes OLORA002 and OLORA011.</summary>
        public AddPartialCodeFix() : base(EquivalenceKey, DiagnosticDescriptors.ClassNotPartial, DiagnosticDescriptors.ContainingTypeNotPartial) { }

        /// <inheritdoc/>
        protected override (string Title, Func<SyntaxNode, SyntaxNode> Rewrite)? Fix(SyntaxNode root, Diagnostic diagnostic)
        {
            var token = root.FindToken(diagnostic.Location.SourceSpan.Start);
            if (token.Parent is not TypeDeclarationSyntax declaration || declaration.Identifier != token) return null;
            return ($"Make '{token.ValueText}' partial", r => AddPartial(r, declaration));
        }

        private static SyntaxNode AddPartial(SyntaxNode root, TypeDeclarationSyntax declaration)
        {
            // `partial` must come right before the type keyword; with no modifiers it takes over the keyword's leading trivia.
            var keyword = declaration.Keyword;
            var partial = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space);
            TypeDeclarationSyntax fixedDeclaration;
            if (declaration.Modifiers.Count == 0)
            {
                fixedDeclaration = declaration
                    .WithKeyword(keyword.WithLeadingTrivia())
                    .WithModifiers(SyntaxFactory.TokenList(partial.WithLeadingTrivia(keyword.LeadingTrivia)));
            }
            else
            {
                fixedDeclaration = declaration.WithModifiers(declaration.Modifiers.Add(partial));
            }
            return root.ReplaceNode(declaration, fixedDeclaration);
        }
    }
}
