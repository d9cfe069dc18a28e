// Shared by the source generator and the analyzers (linked source): the generator skips exactly the classes the
// analyzers report with OLORA014-016, so user code either gets generated code that compiles or an error saying why not.
using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace OneLoRA.Targeting
{
    /// <summary>What a [Peft] class may not have for its generated code to compile (beyond partial and module, OLORA002/003/011).</summary>
    internal static class GenerationBlockers
    {
        /// <summary>The generated file declares <c>file</c> types (the interceptors and their attribute): C# 11.</summary>
        public const LanguageVersion MinimumLanguageVersion = LanguageVersion.CSharp11;

        /// <summary>The members the generator adds to every [Peft] class.</summary>
        public static readonly IReadOnlyList<string> GeneratedMemberNames = new[]
        {
            "AttachAdapters", "MergeAdapters", "UnmergeAdapters", "CollectTargetLayers", "PeftLayers", "DefaultPeftOptions",
        };

        /// <summary>Prefix of the generator's private helpers (<c>__PeftLayerTable</c>, <c>__PeftMergeLayer</c>, ...).</summary>
        public const string ReservedPrefix = "__Peft";

        /// <summary>True when any blocker applies: the generator then emits nothing for the class.</summary>
        public static bool Blocks(INamedTypeSymbol type, SyntaxTree tree) =>
            FileLocalType(type) is not null || LanguageVersionOf(tree) < MinimumLanguageVersion || Clashes(type).Count > 0;

        /// <summary>The class itself or its innermost file-local containing type; null when none is file-local (OLORA014).</summary>
        public static INamedTypeSymbol? FileLocalType(INamedTypeSymbol type)
        {
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
                if (t.IsFileLocal) return t;
            return null;
        }

        /// <summary>The effective language version of the class's declaration (OLORA016).</summary>
        public static LanguageVersion LanguageVersionOf(SyntaxTree tree) =>
            tree.Options is CSharpParseOptions options ? options.LanguageVersion : LanguageVersion.Latest;

        /// <summary>
        /// Symbols whose name the generated members would clash with (OLORA015): the class's own name, its type parameters,
        /// its members, and the non-private members it inherits from bases up to the first [Peft] base (whose generated
        /// members the generated ones hide with <c>new</c> on purpose).
        /// </summary>
        public static List<(ISymbol Symbol, string Name)> Clashes(INamedTypeSymbol type)
        {
            var result = new List<(ISymbol, string)>();
            if (IsReserved(type.Name)) result.Add((type, type.Name));
            foreach (var parameter in type.TypeParameters)
                if (IsReserved(parameter.Name)) result.Add((parameter, parameter.Name));
            // GetMembers() includes nested types (MemberNames does not).
            foreach (var member in type.GetMembers())
                if (IsReserved(member.Name) && !member.IsImplicitlyDeclared && !IsGenerated(member)) result.Add((member, member.Name));
            for (var t = type.BaseType; t is not null && !IsPeftClass(t); t = t.BaseType)
                foreach (var member in t.GetMembers())
                    if (IsReserved(member.Name) && !member.IsImplicitlyDeclared && member.DeclaredAccessibility != Accessibility.Private)
                        result.Add((member, member.Name));
            return result;
        }

        /// <summary>A generated member's name, or one starting with <see cref="ReservedPrefix"/>.</summary>
        public static bool IsReserved(string name)
        {
            if (name.StartsWith(ReservedPrefix, System.StringComparison.Ordinal)) return true;
            foreach (var generated in GeneratedMemberNames)
                if (name == generated) return true;
            return false;
        }

        /// <summary>
        /// Declared only in this generator's output (the analyzers see the generated members; the generator never does).
        /// Roslyn names generated trees <c>&lt;assembly&gt;/&lt;generator type&gt;/&lt;hint name&gt;</c>.
        /// </summary>
        private static bool IsGenerated(ISymbol member)
        {
            if (member.DeclaringSyntaxReferences.IsEmpty) return false;
            foreach (var reference in member.DeclaringSyntaxReferences)
                if (reference.SyntaxTree.FilePath.IndexOf("OneLoRA.Generators.PeftGenerator", System.StringComparison.Ordinal) < 0) return false;
            return true;
        }

        private static bool IsPeftClass(INamedTypeSymbol type)
        {
            foreach (var attribute in type.OriginalDefinition.GetAttributes())
                if (attribute.AttributeClass is { Name: "PeftAttribute", ContainingNamespace: { Name: "OneLoRA" } ns } && ns.ContainingNamespace is { IsGlobalNamespace: true })
                    return true;
            return false;
        }
    }
}
