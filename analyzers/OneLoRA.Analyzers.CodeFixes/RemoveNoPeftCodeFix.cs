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
    /// <summary>Removes a [NoPeft] that has no effect (OLORA010).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveNoPeftCodeFix)), Shared]
    public sealed class RemoveNoPeftCodeFix : CodeFixProvider
    {
        /// <summary>Identifies this fix among the actions offered for a diagnostic.</summary>
        public const string EquivalenceKey = "OneLoRA.RemoveNoPeft";

        /// <inheritdoc/>
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.NoPeftHasNoEffect.Id);

        /// <inheritdoc/>
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc/>
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                if (root.FindNode(diagnostic.Location.SourceSpan) is not AttributeSyntax { Parent: AttributeListSyntax { Parent: MemberDeclarationSyntax } } attribute)
                    continue;
                context.RegisterCodeFix(CodeAction.Create("Remove [NoPeft]", ct => RemoveAsync(context.Document, attribute, ct), EquivalenceKey), diagnostic);
            }
        }

        private static async Task<Document> RemoveAsync(Document document, AttributeSyntax attribute, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            var list = (AttributeListSyntax)attribute.Parent!;
            var member = (MemberDeclarationSyntax)list.Parent!;
            if (root is null) return document;

            MemberDeclarationSyntax fixedMember;
            if (list.Attributes.Count > 1)
            {
                fixedMember = member.ReplaceNode(list, list.WithAttributes(list.Attributes.Remove(attribute)));
            }
            else
            {
                // The list goes with its line; whatever preceded it (indentation, comments) now precedes the member.
                var index = member.AttributeLists.IndexOf(list);
                fixedMember = member.WithAttributeLists(member.AttributeLists.RemoveAt(index));
                if (index == 0) fixedMember = fixedMember.WithLeadingTrivia(list.GetLeadingTrivia());
            }
            return document.WithSyntaxRoot(root.ReplaceNode(member, fixedMember));
        }
    }
}
