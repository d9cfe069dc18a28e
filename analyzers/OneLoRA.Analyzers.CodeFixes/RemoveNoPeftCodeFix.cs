using System;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>Removes a [NoPeft] that has no effect (OLORA010).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveNoPeftCodeFix)), Shared]
    public sealed class RemoveNoPeftCodeFix : SyntaxCodeFix
    {
        /// <summary>Identifies this fix among the actions offered for a diagnostic.</summary>
        public const string EquivalenceKey = "OneLoRA.RemoveNoPeft";

        /// <summary>Fixes OLORA010.</summary>
        public RemoveNoPeftCodeFix() : base(EquivalenceKey, DiagnosticDescriptors.NoPeftHasNoEffect) { }

        /// <inheritdoc/>
        protected override (string Title, Func<SyntaxNode, SyntaxNode> Rewrite)? Fix(SyntaxNode root, Diagnostic diagnostic) =>
            root.FindNode(diagnostic.Location.SourceSpan) is AttributeSyntax { Parent: AttributeListSyntax { Parent: MemberDeclarationSyntax } } attribute
                ? ("Remove [NoPeft]", r => Remove(r, attribute))
                : null;

        private static SyntaxNode Remove(SyntaxNode root, AttributeSyntax attribute)
        {
            var list = (AttributeListSyntax)attribute.Parent!;
            var member = (MemberDeclarationSyntax)list.Parent!;

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
            return root.ReplaceNode(member, fixedMember);
        }
    }
}
