using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>Makes a [Peft] class, or a type containing one, partial (OLORA002, OLORA011).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddPartialCodeFix)), Shared]
    public sealed class AddPartialCodeFix : CodeFixProvider
    {
        /// <summary>Identifies this fix among the actions offered for a diagnostic.</summary>
        public const string EquivalenceKey = "OneLoRA.AddPartial";

        /// <inheritdoc/>
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
            DiagnosticDescriptors.ClassNotPartial.Id, DiagnosticDescriptors.ContainingTypeNotPartial.Id);

        /// <inheritdoc/>
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc/>
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                var token = root.FindToken(diagnostic.Location.SourceSpan.Start);
                if (token.Parent is not TypeDeclarationSyntax declaration || declaration.Identifier != token) continue;
                context.RegisterCodeFix(
                    CodeAction.Create($"Make '{token.ValueText}' partial", ct => AddPartialAsync(context.Document, declaration, ct), EquivalenceKey),
                    diagnostic);
            }
        }

        private static async Task<Document> AddPartialAsync(Document document, TypeDeclarationSyntax declaration, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null) return document;
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
            return document.WithSyntaxRoot(root.ReplaceNode(declaration, fixedDeclaration));
        }
    }
}
