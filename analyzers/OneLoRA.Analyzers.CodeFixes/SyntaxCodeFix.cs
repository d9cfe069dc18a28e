using System;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>
    /// The shared skeleton of the fixes that only rewrite one document's syntax tree ([NoPeft] added or removed,
    /// <c>partial</c> added, an option removed): for each diagnostic, find what it points at, offer one action with a
    /// title naming it, and apply a root → root rewrite; Fix All through Roslyn's batch fixer (the edits never overlap).
    /// AddToTargets is not one of them: it reads the semantic model and may edit another document.
    /// </summary>
    public abstract class SyntaxCodeFix : CodeFixProvider
    {
        private readonly string equivalenceKey;

        /// <param name="equivalenceKey">Identifies the fix among the actions offered for a diagnostic.</param>
        /// <param name="fixable">The diagnostics it fixes.</param>
        protected SyntaxCodeFix(string equivalenceKey, params DiagnosticDescriptor[] fixable)
        {
            this.equivalenceKey = equivalenceKey;
            FixableDiagnosticIds = fixable.Select(d => d.Id).ToImmutableArray();
        }

        /// <inheritdoc/>
        public sealed override ImmutableArray<string> FixableDiagnosticIds { get; }

        /// <inheritdoc/>
        public sealed override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc/>
        public sealed override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var document = context.Document;
            var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                if (Fix(root, diagnostic) is not { } fix) continue;
                var rewrite = fix.Rewrite;
                context.RegisterCodeFix(
                    CodeAction.Create(fix.Title, _ => Task.FromResult(document.WithSyntaxRoot(rewrite(root))), equivalenceKey),
                    diagnostic);
            }
        }

        /// <summary>The action for one diagnostic — its title and the rewrite of the document's root — or null where the
        /// diagnostic points at nothing this fix can change.</summary>
        protected abstract (string Title, Func<SyntaxNode, SyntaxNode> Rewrite)? Fix(SyntaxNode root, Diagnostic diagnostic);
    }
}
