using System;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>Removes a [Peft] option the chosen method does not read (OLORA009).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveOptionCodeFix)), Shared]
    public sealed class RemoveOptionCodeFix : SyntaxCodeFix
    {
        /// <summary>Identifies this fix among the actions offered for a diagnostic.</summary>
        public const string EquivalenceKey = "OneLoRA.RemoveOption";

        /// <summary>Fixes OLORA009.</summary>
        public RemoveOptionCodeFix() : base(EquivalenceKey, DiagnosticDescriptors.OptionHasNoEffect) { }

        /// <inheritdoc/>
        protected override (string Title, Func<SyntaxNode, SyntaxNode> Rewrite)? Fix(SyntaxNode root, Diagnostic diagnostic) =>
            root.FindNode(diagnostic.Location.SourceSpan) is AttributeArgumentSyntax { NameEquals: { } name, Parent: AttributeArgumentListSyntax list } argument
                ? ($"Remove {name.Name.Identifier.ValueText}", r => r.ReplaceNode(list, list.WithArguments(list.Arguments.Remove(argument))))
                : null;
    }
}
