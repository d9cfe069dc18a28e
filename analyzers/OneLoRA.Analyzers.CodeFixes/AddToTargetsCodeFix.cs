using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>
    /// Widens the class's Targets with the un-adapted member's name (OLORA001 when no Targets glob matched it; when an
    /// Exclude glob removed it, adding to Targets would not help and only [NoPeft] is offered).
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddToTargetsCodeFix)), Shared]
    public sealed class AddToTargetsCodeFix : CodeFixProvider
    {
        /// <summary>Identifies this fix among the actions offered for a diagnostic.</summary>
        public const string EquivalenceKey = "OneLoRA.AddToTargets";

        /// <inheritdoc/>
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.LayerNotAdapted.Id);

        /// <summary>No fix-all: several members of one class edit the same Targets literal.</summary>
        public override FixAllProvider? GetFixAllProvider() => null;

        /// <inheritdoc/>
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null || model is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                if (!diagnostic.Properties.TryGetValue(PeftClassAnalyzer.ReasonProperty, out var reason) || reason != "Targets") continue;
                var token = root.FindToken(diagnostic.Location.SourceSpan.Start);
                if (token.Parent?.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } declaration) continue;
                if (model.GetDeclaredSymbol(declaration, context.CancellationToken) is not INamedTypeSymbol type) continue;
                var attribute = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == PeftSymbols.PeftAttributeName);
                if (attribute?.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken) is not AttributeSyntax attributeSyntax) continue;
                var targets = attributeSyntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "Targets");
                if (targets is null) continue;
                var document = context.Document.Project.Solution.GetDocument(attributeSyntax.SyntaxTree);
                if (document is null) continue;
                var name = token.ValueText;
                context.RegisterCodeFix(
                    CodeAction.Create($"Add '{name}' to Targets", ct => WidenAsync(document, targets, name, ct), EquivalenceKey),
                    diagnostic);
            }
        }

        private static async Task<Solution> WidenAsync(Document document, AttributeArgumentSyntax targets, string name, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null) return document.Project.Solution;
            var expression = targets.Expression;
            ExpressionSyntax widened;
            if (expression is LiteralExpressionSyntax literal && literal.IsKind(SyntaxKind.StringLiteralExpression))
            {
                var value = literal.Token.ValueText.TrimEnd();
                var text = value.Length == 0 ? name : value.EndsWith(";", System.StringComparison.Ordinal) ? value + name : value + ";" + name;
                widened = SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(text));
            }
            else
            {
                // A constant or concatenation stays as written; the name is appended as a constant suffix.
                var left = expression.WithoutTrivia();
                if (left is not (IdentifierNameSyntax or MemberAccessExpressionSyntax or BinaryExpressionSyntax { RawKind: (int)SyntaxKind.AddExpression }))
                    left = SyntaxFactory.ParenthesizedExpression(left);
                widened = SyntaxFactory.BinaryExpression(SyntaxKind.AddExpression, left,
                    SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(";" + name)));
            }
            var newRoot = root.ReplaceNode(expression, widened.WithTriviaFrom(expression));
            return document.Project.Solution.WithDocumentSyntaxRoot(document.Id, newRoot);
        }
    }
}
