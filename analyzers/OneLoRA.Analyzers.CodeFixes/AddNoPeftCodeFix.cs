using System;
using System.Composition;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Simplification;

namespace OneLoRA.Analyzers.CodeFixes
{
    /// <summary>Marks a member [NoPeft] (OLORA001, OLORA007, OLORA013): keep it frozen, deliberately.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddNoPeftCodeFix)), Shared]
    public sealed class AddNoPeftCodeFix : SyntaxCodeFix
    {
        /// <summary>Identifies this fix among the actions offered for a diagnostic.</summary>
        public const string EquivalenceKey = "OneLoRA.AddNoPeft";

        /// <summary>Fixes OLORA001, OLORA007 and OLORA013.</summary>
        public AddNoPeftCodeFix() : base(EquivalenceKey, DiagnosticDescriptors.LayerNotAdapted, DiagnosticDescriptors.ModuleNotPeft, DiagnosticDescriptors.LayersOutOfReach) { }

        /// <inheritdoc/>
        protected override (string Title, Func<SyntaxNode, SyntaxNode> Rewrite)? Fix(SyntaxNode root, Diagnostic diagnostic)
        {
            // Only diagnostics on a member's name: OLORA013 on an assigned value has no member declaration to mark.
            var token = root.FindToken(diagnostic.Location.SourceSpan.Start);
            if (token.Span != diagnostic.Location.SourceSpan) return null;
            var member = token.Parent switch
            {
                VariableDeclaratorSyntax { Parent.Parent: FieldDeclarationSyntax } declarator => (SyntaxNode)declarator,
                PropertyDeclarationSyntax property => property,
                _ => null,
            };
            if (member is null) return null;
            return ($"Mark '{token.ValueText}' [NoPeft]", r => AddNoPeft(r, member));
        }

        private static SyntaxNode AddNoPeft(SyntaxNode root, SyntaxNode member)
        {
            var attribute = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(
                SyntaxFactory.Attribute(SyntaxFactory.ParseName("global::OneLoRA.NoPeft").WithAdditionalAnnotations(Simplifier.Annotation))));

            var newLine = DocumentTrivia.NewLine(root);
            SyntaxNode newRoot;
            if (member is PropertyDeclarationSyntax property)
            {
                newRoot = root.ReplaceNode(property, WithAttribute(property, attribute, newLine));
            }
            else
            {
                var declarator = (VariableDeclaratorSyntax)member;
                var field = (FieldDeclarationSyntax)declarator.Parent!.Parent!;
                if (field.Declaration.Variables.Count == 1)
                {
                    newRoot = root.ReplaceNode(field, WithAttribute(field, attribute, newLine));
                }
                else
                {
                    // `Linear fc1, fc3;` with only fc3 flagged: fc3 moves to its own declaration so fc1 stays adapted.
                    var remaining = field.WithDeclaration(field.Declaration.WithVariables(field.Declaration.Variables.Remove(declarator)));
                    var single = field
                        .WithDeclaration(field.Declaration.WithVariables(SyntaxFactory.SingletonSeparatedList(declarator.WithoutTrivia())))
                        .WithLeadingTrivia(DocumentTrivia.Indentation(field));
                    newRoot = root.ReplaceNode(field, new SyntaxNode[] { remaining, WithAttribute(single, attribute, newLine) });
                }
            }
            return newRoot;
        }

        /// <summary>Prepends the attribute list on its own line, keeping the member's leading trivia (indentation, comments) in front of it.</summary>
        private static TMember WithAttribute<TMember>(TMember member, AttributeListSyntax attribute, SyntaxTrivia newLine) where TMember : MemberDeclarationSyntax
        {
            var list = attribute.WithLeadingTrivia(member.GetLeadingTrivia()).WithTrailingTrivia(newLine);
            var stripped = (TMember)member.WithLeadingTrivia(DocumentTrivia.Indentation(member));
            return (TMember)stripped.WithAttributeLists(stripped.AttributeLists.Insert(0, list));
        }
    }
}
