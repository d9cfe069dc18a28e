// Shared by the source generator and the analyzers (linked source), so the two can never disagree on which
// members are adaptation candidates.
using System.Linq;
using Microsoft.CodeAnalysis;

namespace OneLoRA.Targeting
{
    /// <summary>
    /// The members of a [Peft] class that own their value: fields and auto-properties written in the class. A computed
    /// property (<c>Linear Head =&gt; head;</c>) is a view of another member, so adapting through it would adapt that
    /// member a second time (or despite its [NoPeft]); it is never a candidate.
    /// </summary>
    internal static class CandidateMember
    {
        /// <summary>
        /// True for a non-const field or an auto-property (non-indexer, with a getter, not an explicit interface
        /// implementation) declared in source in its class; static members included (callers decide about those).
        /// </summary>
        public static bool IsStorage(ISymbol member) => member switch
        {
            IFieldSymbol field => !field.IsConst && !field.IsImplicitlyDeclared,
            IPropertySymbol property => !property.IsIndexer && !property.IsImplicitlyDeclared && property.GetMethod is not null
                && property.ExplicitInterfaceImplementations.IsEmpty && IsAutoProperty(property),
            _ => false,
        };

        /// <summary>A property that is not an auto-property: it reads (or computes) its value elsewhere.</summary>
        public static bool IsComputedProperty(ISymbol member) =>
            member is IPropertySymbol { IsIndexer: false } property && !IsAutoProperty(property);

        /// <summary>
        /// True when the property has a compiler-generated backing field (<c>{ get; }</c>, <c>{ get; set; }</c>,
        /// <c>{ get; init; }</c>, or accessors using the <c>field</c> keyword).
        /// </summary>
        public static bool IsAutoProperty(IPropertySymbol property)
        {
            property = property.OriginalDefinition;
            // Source symbols expose the synthesized backing field, tied to its property by AssociatedSymbol.
            foreach (var member in property.ContainingType.GetMembers())
                if (member is IFieldSymbol field && SymbolEqualityComparer.Default.Equals(field.AssociatedSymbol, property))
                    return true;
            if (!property.DeclaringSyntaxReferences.IsEmpty) return false;
            // Metadata hides private backing fields; the compiler marks auto-property accessors [CompilerGenerated] instead.
            var accessor = property.GetMethod ?? property.SetMethod;
            return accessor is not null && accessor.GetAttributes().Any(a =>
                a.AttributeClass is { Name: "CompilerGeneratedAttribute", ContainingNamespace: { Name: "CompilerServices" } ns }
                && ns.ToDisplayString() == "System.Runtime.CompilerServices");
        }
    }
}
