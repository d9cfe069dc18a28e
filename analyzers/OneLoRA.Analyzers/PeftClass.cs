using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using OneLoRA.Targeting;

namespace OneLoRA.Analyzers
{
    /// <summary>
    /// One [Peft] class read the way the generator reads it: the attribute's arguments, the Linear candidates
    /// (instance fields and auto-properties declared in the class, typed Linear, Linear[] or ModuleList&lt;Linear&gt;)
    /// with their selection, and the members typed as nested [Peft] modules.
    /// </summary>
    internal sealed class PeftClass
    {
        public const string DefaultTargets = "*";
        public const string LayerTypeName = "Linear";

        private PeftClass(INamedTypeSymbol type, AttributeData attribute, AttributeSyntax? syntax, string? targets, string? exclude,
            ImmutableArray<LayerMember> layers, ImmutableArray<NestedMember> nested)
        {
            Type = type;
            Attribute = attribute;
            Syntax = syntax;
            Targets = targets;
            Exclude = exclude;
            Layers = layers;
            Nested = nested;
            // LayerFor runs for every member reference: a lookup, not a scan (a class may hold thousands of layers).
            layersBySymbol = new Dictionary<ISymbol, LayerMember>(SymbolEqualityComparer.Default);
            foreach (var layer in layers)
                if (!layersBySymbol.ContainsKey(layer.Symbol)) layersBySymbol.Add(layer.Symbol, layer);
        }

        private readonly Dictionary<ISymbol, LayerMember> layersBySymbol;

        public INamedTypeSymbol Type { get; }
        public AttributeData Attribute { get; }
        public AttributeSyntax? Syntax { get; }
        public string? Targets { get; }
        public string? Exclude { get; }

        /// <summary>Linear candidates in declaration order.</summary>
        public ImmutableArray<LayerMember> Layers { get; }

        /// <summary>Members typed as a [Peft] module (or an array / ModuleList of one).</summary>
        public ImmutableArray<NestedMember> Nested { get; }

        /// <summary>Reads a [Peft] class; null when <paramref name="type"/> carries no [Peft].</summary>
        public static PeftClass? Read(INamedTypeSymbol type, PeftSymbols symbols, CancellationToken cancellationToken)
        {
            var attribute = symbols.PeftAttributeOf(type);
            if (attribute is null) return null;

            string? targets = DefaultTargets, exclude = "";
            foreach (var named in attribute.NamedArguments)
            {
                if (named.Key == "Targets") targets = named.Value.Value as string;
                else if (named.Key == "Exclude") exclude = named.Value.Value as string;
            }

            var layers = ImmutableArray.CreateBuilder<LayerMember>();
            var nested = ImmutableArray.CreateBuilder<NestedMember>();
            foreach (var member in InstanceMembers(type))
            {
                var memberType = TypeOf(member);
                if (memberType is null) continue;
                var noPeft = symbols.HasNoPeft(member);
                var shape = symbols.ShapeOf(memberType);
                if (shape != LayerShape.None)
                {
                    var selected = !noPeft && TargetGlob.Selects(targets ?? "", exclude ?? "", member.Name, LayerTypeName);
                    layers.Add(new LayerMember(member, shape, noPeft, selected));
                }
                else if (symbols.ElementOrSelf(memberType) is INamedTypeSymbol element && symbols.PeftAttributeOf(element) is not null)
                {
                    nested.Add(new NestedMember(member, element, noPeft));
                }
            }

            var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
            return new PeftClass(type, attribute, syntax, targets, exclude, layers.ToImmutable(), nested.ToImmutable());
        }

        /// <summary>Instance fields and auto-properties written in the class itself (the generator's candidate rule).</summary>
        public static IEnumerable<ISymbol> InstanceMembers(INamedTypeSymbol type)
        {
            foreach (var member in DeclaredMembers(type))
                if (!member.IsStatic) yield return member;
        }

        /// <summary>
        /// Fields and auto-properties written in the class itself, static ones included; computed properties are views of
        /// other members and never candidates (<see cref="CandidateMember"/>, shared with the generator).
        /// </summary>
        public static IEnumerable<ISymbol> DeclaredMembers(INamedTypeSymbol type)
        {
            foreach (var member in type.GetMembers())
                if (CandidateMember.IsStorage(member)) yield return member;
        }

        public static ITypeSymbol? TypeOf(ISymbol member) => member switch
        {
            IFieldSymbol field => field.Type,
            IPropertySymbol property => property.Type,
            _ => null,
        };

        /// <summary>The named argument's syntax (<c>Rank = 4</c>), or null when it is not written.</summary>
        public AttributeArgumentSyntax? NamedArgumentSyntax(string name)
        {
            if (Syntax?.ArgumentList is null) return null;
            foreach (var argument in Syntax.ArgumentList.Arguments)
                if (argument.NameEquals?.Name.Identifier.ValueText == name) return argument;
            return null;
        }

        /// <summary>The constructor argument's syntax (the method), or null.</summary>
        public AttributeArgumentSyntax? MethodArgumentSyntax()
        {
            if (Syntax?.ArgumentList is null) return null;
            foreach (var argument in Syntax.ArgumentList.Arguments)
                if (argument.NameEquals is null && argument.NameColon is null) return argument;
            foreach (var argument in Syntax.ArgumentList.Arguments)
                if (argument.NameColon is not null) return argument;
            return null;
        }

        /// <summary>The first layer member with this symbol, or null.</summary>
        public LayerMember? LayerFor(ISymbol member) => layersBySymbol.TryGetValue(member, out var layer) ? layer : null;
    }

    /// <summary>A Linear candidate member and whether the generator adapts it.</summary>
    internal sealed class LayerMember
    {
        public LayerMember(ISymbol symbol, LayerShape shape, bool noPeft, bool selected)
        {
            Symbol = symbol;
            Shape = shape;
            NoPeft = noPeft;
            Selected = selected;
        }

        public ISymbol Symbol { get; }
        public string Name => Symbol.Name;
        public LayerShape Shape { get; }
        public bool NoPeft { get; }
        public bool Selected { get; }
    }

    /// <summary>A member typed as a nested [Peft] module (or a collection of them).</summary>
    internal sealed class NestedMember
    {
        public NestedMember(ISymbol symbol, INamedTypeSymbol moduleType, bool noPeft)
        {
            Symbol = symbol;
            ModuleType = moduleType;
            NoPeft = noPeft;
        }

        public ISymbol Symbol { get; }
        public string Name => Symbol.Name;
        public INamedTypeSymbol ModuleType { get; }
        public bool NoPeft { get; }
    }
}
