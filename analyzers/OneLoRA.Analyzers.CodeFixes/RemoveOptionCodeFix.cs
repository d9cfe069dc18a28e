using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>Removes a [Peft] option the chosen method does not read (OLORA009).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveOptionCodeFix)), Shared]
    public sealed class RemoveOptionCodeFix : CodeFixProvider
    {
        /// <summary>Identifies this fix among the actions offered for a diagnostic.</summary>
        public const string EquivalenceKey = "OneLoRA.RemoveOption";

        /// <inheritdoc/>
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.OptionHasNoEffect.Id);

        /// <inheritdoc/>
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc/>
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                if (root.FindNode(diagnostic.Location.SourceSpan) is not AttributeArgumentSyntax { NameEquals: { } name } argument) continue;
                context.RegisterCodeFix(
                    CodeAction.Create($"Remove {name.Name.Identifier.ValueText}", ct => RemoveAsync(context.Document, argument, ct), EquivalenceKey),
                    diagnostic);
            }
        }

        private static async Task<Document> RemoveAsync(Document document, AttributeArgumentSyntax argument, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null || argument.Parent is not AttributeArgumentListSyntax list) return document;
            return document.WithSyntaxRoot(root.ReplaceNode(list, list.WithArguments(list.Arguments.Remove(argument))));
        }
    }
}
