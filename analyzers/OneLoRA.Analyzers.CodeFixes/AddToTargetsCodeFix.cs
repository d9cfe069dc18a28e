using System.Collections.Generic;
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

        /// <summary>
        /// Fix All widens each Targets once with every name (BatchFixer would merge the per-member edits of one literal as
        /// overlapping changes and drop all but one); the attribute may sit in another file than the members.
        /// </summary>
        public override FixAllProvider GetFixAllProvider() => AddAllToTargets.Instance;

        /// <inheritdoc/>
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            foreach (var diagnostic in context.Diagnostics)
            {
                var site = await LocateAsync(context.Document, diagnostic, context.CancellationToken).ConfigureAwait(false);
                if (site is not { } found) continue;
                context.RegisterCodeFix(
                    CodeAction.Create($"Add '{found.Name}' to Targets", ct => WidenAsync(found.Document, new[] { (found.Targets, found.Name) }, ct), EquivalenceKey),
                    diagnostic);
            }
        }

        /// <summary>The Targets argument that left the member out, the document holding it, and the member's name.</summary>
        private static async Task<(Document Document, AttributeArgumentSyntax Targets, string Name)?> LocateAsync(
            Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
        {
            if (!diagnostic.Properties.TryGetValue(PeftClassAnalyzer.ReasonProperty, out var reason) || reason != "Targets") return null;
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
            if (root is null || model is null) return null;
            var token = root.FindToken(diagnostic.Location.SourceSpan.Start);
            if (token.Parent?.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } declaration) return null;
            if (model.GetDeclaredSymbol(declaration, cancellationToken) is not INamedTypeSymbol type) return null;
            var attribute = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == PeftSymbols.PeftAttributeName);
            if (attribute?.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax attributeSyntax) return null;
            var targets = attributeSyntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "Targets");
            if (targets is null) return null;
            var attributeDocument = document.Project.Solution.GetDocument(attributeSyntax.SyntaxTree);
            if (attributeDocument is null) return null;
            return (attributeDocument, targets, token.ValueText);
        }

        /// <summary>Appends the names (in order, each once) to each Targets argument, all in <paramref name="document"/>.</summary>
        private static async Task<Solution> WidenAsync(Document document, IEnumerable<(AttributeArgumentSyntax Targets, string Name)> edits, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null) return document.Project.Solution;
            var names = new Dictionary<ExpressionSyntax, List<string>>();
            foreach (var (targets, name) in edits)
            {
                if (!names.TryGetValue(targets.Expression, out var list)) names.Add(targets.Expression, list = new List<string>());
                if (!list.Contains(name)) list.Add(name);
            }
            var newRoot = root.ReplaceNodes(names.Keys, (original, _) => Widened(original, names[original]).WithTriviaFrom(original));
            return document.Project.Solution.WithDocumentSyntaxRoot(document.Id, newRoot);
        }

        private static ExpressionSyntax Widened(ExpressionSyntax expression, List<string> names)
        {
            var added = string.Join(";", names);
            if (expression is LiteralExpressionSyntax literal && literal.IsKind(SyntaxKind.StringLiteralExpression))
            {
                var value = literal.Token.ValueText.TrimEnd();
                var text = value.Length == 0 ? added : value.EndsWith(";", System.StringComparison.Ordinal) ? value + added : value + ";" + added;
                return SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(text));
            }
            // A constant or concatenation stays as written; the names are appended as a constant suffix.
            var left = expression.WithoutTrivia();
            if (left is not (IdentifierNameSyntax or MemberAccessExpressionSyntax or BinaryExpressionSyntax { RawKind: (int)SyntaxKind.AddExpression }))
                left = SyntaxFactory.ParenthesizedExpression(left);
            return SyntaxFactory.BinaryExpression(SyntaxKind.AddExpression, left,
                SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(";" + added)));
        }

        /// <summary>Fix All in a document, project or solution: one edit per Targets argument with every name it misses.</summary>
        private sealed class AddAllToTargets : FixAllProvider
        {
            public static readonly AddAllToTargets Instance = new AddAllToTargets();

            public override IEnumerable<FixAllScope> GetSupportedFixAllScopes() =>
                new[] { FixAllScope.Document, FixAllScope.Project, FixAllScope.Solution };

            public override Task<CodeAction?> GetFixAsync(FixAllContext fixAllContext) =>
                Task.FromResult<CodeAction?>(CodeAction.Create("Add every un-adapted member to Targets",
                    ct => FixAllAsync(fixAllContext, ct), fixAllContext.CodeActionEquivalenceKey ?? EquivalenceKey));

            private static async Task<Solution> FixAllAsync(FixAllContext context, CancellationToken cancellationToken)
            {
                var found = new List<(Document Document, AttributeArgumentSyntax Targets, string Name)>();
                foreach (var (document, diagnostics) in await DiagnosticsInScopeAsync(context).ConfigureAwait(false))
                    foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceSpan.Start))
                        if (await LocateAsync(document, diagnostic, cancellationToken).ConfigureAwait(false) is { } site)
                            found.Add(site);

                var solution = context.Solution;
                foreach (var group in found.GroupBy(f => f.Document.Id))
                {
                    var document = solution.GetDocument(group.Key);
                    if (document is null) continue;
                    solution = await WidenAsync(document, group.Select(f => (f.Targets, f.Name)), cancellationToken).ConfigureAwait(false);
                }
                return solution;
            }

            private static async Task<List<(Document, ImmutableArray<Diagnostic>)>> DiagnosticsInScopeAsync(FixAllContext context)
            {
                var result = new List<(Document, ImmutableArray<Diagnostic>)>();
                IEnumerable<Project> projects = context.Scope switch
                {
                    FixAllScope.Project => new[] { context.Project },
                    FixAllScope.Solution => context.Solution.Projects,
                    _ => Enumerable.Empty<Project>(),
                };
                if (context.Scope == FixAllScope.Document && context.Document is not null)
                    result.Add((context.Document, await context.GetDocumentDiagnosticsAsync(context.Document).ConfigureAwait(false)));
                foreach (var project in projects)
                {
                    var all = await context.GetAllDiagnosticsAsync(project).ConfigureAwait(false);
                    foreach (var byTree in all.Where(d => d.Location.SourceTree is not null).GroupBy(d => d.Location.SourceTree!))
                        if (project.GetDocument(byTree.Key) is { } document) result.Add((document, byTree.ToImmutableArray()));
                }
                return result;
            }
        }
    }
}
