using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using OneLoRA.Generators.Model;
using OneLoRA.Targeting;

namespace OneLoRA.Generators
{
    /// <summary>
    /// Turns a <c>[Peft]</c> class symbol into a <see cref="PeftClassModel"/>. Returns null (generates nothing)
    /// for anything the generated code could not compile against; the analyzers report why.
    /// </summary>
    public static class PeftParser
    {
        /// <summary>Metadata name of the attribute that drives the generator.</summary>
        public const string PeftAttributeName = "OneLoRA.PeftAttribute";

        /// <summary>
        /// <see cref="Parse"/>, but a failure (a generator bug) becomes a model whose file says so: an exception here would
        /// make Roslyn drop the output of every class, not only this one.
        /// </summary>
        public static PeftClassModel? ParseOrFailure(GeneratorAttributeSyntaxContext context, CancellationToken ct)
        {
            try
            {
                return Parse(context, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var name = context.TargetSymbol.Name;
                string fullName;
                try { fullName = context.TargetSymbol is INamedTypeSymbol t ? FullName(t) : name; }
                catch (Exception) { fullName = name; }
                var spec = new PeftClassSpec(HintNames.Sanitize(fullName), fullName, "", EquatableArray<TypeDeclarationSpec>.Empty,
                    new TypeDeclarationSpec("class", name, ""), name, new PeftOptionsSpec(null, EquatableArray<OptionAssignmentSpec>.Empty),
                    EquatableArray<PeftMemberSpec>.Empty, false);
                return new PeftClassModel(spec, EquatableArray<InterceptedCallSpec>.Empty, e.GetType().Name + ": " + e.Message);
            }
        }

        /// <summary>Parses one attributed class declaration.</summary>
        public static PeftClassModel? Parse(GeneratorAttributeSyntaxContext context, CancellationToken ct)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type || type.TypeKind != TypeKind.Class) return null;
            // context.Attributes holds every [Peft] of the class in this file, also those on other partial parts.
            var attribute = context.Attributes.FirstOrDefault(a =>
                a.ApplicationSyntaxReference is { } r && r.SyntaxTree == context.TargetNode.SyntaxTree && context.TargetNode.Span.Contains(r.Span));
            // A duplicated [Peft] (an error) must not yield two files with one hint name: only the first one generates.
            if (attribute is null || !IsFirstPeftAttribute(type, attribute)) return null;
            if (!IsPartialAll(type, ct) || !DerivesFromModule(type)) return null;
            // file-local class, a clashing member name, C# before 11: the analyzers report it (OLORA014-016).
            if (GenerationBlockers.Blocks(type, context.TargetNode.SyntaxTree)) return null;

            var compilation = context.SemanticModel.Compilation;
            var options = ParseOptions(attribute, compilation);
            var selected = SelectMembers(type, attribute);
            var members = selected.Select(m => m.Spec).ToEquatableArray();

            var fullName = FullName(type);
            var spec = new PeftClassSpec(
                HintNames.Sanitize(fullName),
                fullName,
                type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : "",
                ContainingTypes(type),
                Declaration(type),
                DisplayName(type),
                options,
                members,
                HasPeftBase(type),
                type.IsSealed);
            var calls = FindCalls(type, selected, context.SemanticModel, ct);
            return new PeftClassModel(spec, calls);
        }

        // ---- the candidate rule (the analyzers implement the same one) ----

        /// <summary>
        /// Instance fields and auto-properties declared in the class (<see cref="CandidateMember"/>): Linear /
        /// ModuleList&lt;Linear&gt; / Linear[] members selected by the globs, and [Peft]-class members (single, ModuleList
        /// or array) not excluded. [NoPeft] skips both; computed properties are views of other members and never count.
        /// </summary>
        private static List<(ISymbol Member, PeftMemberSpec Spec)> SelectMembers(INamedTypeSymbol type, AttributeData attribute)
        {
            var targets = NamedString(attribute, "Targets") ?? "*";
            var exclude = NamedString(attribute, "Exclude") ?? "";
            var result = new List<(ISymbol, PeftMemberSpec)>();
            foreach (var member in type.GetMembers())
            {
                if (member.IsStatic || !CandidateMember.IsStorage(member)) continue;
                ITypeSymbol? memberType = member switch
                {
                    IFieldSymbol f => f.Type,
                    IPropertySymbol p => p.Type,
                    _ => null,
                };
                if (memberType is null || HasAttribute(member, "OneLoRA", "NoPeftAttribute")) continue;

                var (shape, element) = Shape(memberType);
                if (element is null) continue;
                if (IsLinear(element))
                {
                    if (TargetGlob.Selects(targets, exclude, member.Name, "Linear"))
                        result.Add((member, new PeftMemberSpec(member.Name, Access(member.Name), "Linear", shape, IsNested: false)));
                }
                else if (element is INamedTypeSymbol nested && IsPeftClass(nested))
                {
                    if (!TargetGlob.AnyMatch(TargetGlob.Split(exclude), member.Name, nested.Name))
                        result.Add((member, new PeftMemberSpec(member.Name, Access(member.Name), nested.Name, shape, IsNested: true)));
                }
            }
            return result;
        }

        private static (MemberShape Shape, ITypeSymbol? Element) Shape(ITypeSymbol type)
        {
            if (type is IArrayTypeSymbol { Rank: 1 } array) return (MemberShape.Array, array.ElementType);
            if (type is INamedTypeSymbol { Name: "ModuleList", Arity: 1 } list && IsIn(list, "TorchSharp", "Modules") && list.ContainingType is null)
                return (MemberShape.ModuleList, list.TypeArguments[0]);
            if (type is IArrayTypeSymbol) return (MemberShape.Single, null);
            return (MemberShape.Single, type);
        }

        private static bool IsLinear(ITypeSymbol type) =>
            type is INamedTypeSymbol { Name: "Linear", Arity: 0, ContainingType: null } named && IsIn(named, "TorchSharp", "Modules");

        private static bool IsPeftClass(INamedTypeSymbol type) =>
            type.TypeKind == TypeKind.Class && HasAttribute(type.OriginalDefinition, "OneLoRA", "PeftAttribute");

        private static bool IsTensor(ITypeSymbol type) =>
            type is INamedTypeSymbol { Name: "Tensor", Arity: 0, ContainingType: { Name: "torch", ContainingType: null } torch } && IsIn(torch, "TorchSharp");

        /// <summary>True when the class derives (transitively) from <c>TorchSharp.torch.nn.Module</c>.</summary>
        private static bool DerivesFromModule(INamedTypeSymbol type)
        {
            for (var t = type.BaseType; t is not null; t = t.BaseType)
                if (t is { Name: "Module", ContainingType: { Name: "nn", ContainingType: { Name: "torch", ContainingType: null } torch } } && IsIn(torch, "TorchSharp"))
                    return true;
            return false;
        }

        private static bool HasPeftBase(INamedTypeSymbol type)
        {
            for (var t = type.BaseType; t is not null; t = t.BaseType)
                if (IsPeftClass(t)) return true;
            return false;
        }

        private static bool IsIn(ISymbol symbol, params string[] namespaceParts)
        {
            var ns = symbol.ContainingNamespace;
            for (int i = namespaceParts.Length - 1; i >= 0; i--)
            {
                if (ns is null || ns.IsGlobalNamespace || ns.Name != namespaceParts[i]) return false;
                ns = ns.ContainingNamespace;
            }
            return ns is { IsGlobalNamespace: true };
        }

        private static bool HasAttribute(ISymbol symbol, string ns, string name)
        {
            foreach (var a in symbol.GetAttributes())
                if (a.AttributeClass is { Name: var n } c && n == name && IsIn(c, ns)) return true;
            return false;
        }

        // ---- the class shape ----

        private static bool IsFirstPeftAttribute(INamedTypeSymbol type, AttributeData attribute)
        {
            var mine = attribute.ApplicationSyntaxReference;
            if (mine is null) return false;
            foreach (var a in type.GetAttributes())
                if (a.AttributeClass is { Name: "PeftAttribute" } c && IsIn(c, "OneLoRA") && a.ApplicationSyntaxReference is { } other && Before(other, mine))
                    return false;
            return true;
        }

        private static bool Before(SyntaxReference a, SyntaxReference b)
        {
            int byFile = string.CompareOrdinal(a.SyntaxTree.FilePath, b.SyntaxTree.FilePath);
            return byFile < 0 || (byFile == 0 && a.Span.Start < b.Span.Start);
        }

        /// <summary>Every declaration of the class and of its containing types says <c>partial</c>.</summary>
        private static bool IsPartialAll(INamedTypeSymbol type, CancellationToken ct)
        {
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
            {
                if (t.DeclaringSyntaxReferences.IsEmpty) return false;
                foreach (var reference in t.DeclaringSyntaxReferences)
                    if (reference.GetSyntax(ct) is not TypeDeclarationSyntax declaration || !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                        return false;
            }
            return true;
        }

        private static EquatableArray<TypeDeclarationSpec> ContainingTypes(INamedTypeSymbol type)
        {
            var chain = new List<TypeDeclarationSpec>();
            for (var t = type.ContainingType; t is not null; t = t.ContainingType) chain.Add(Declaration(t));
            chain.Reverse();
            return chain.ToEquatableArray();
        }

        private static TypeDeclarationSpec Declaration(INamedTypeSymbol type)
        {
            var keyword = type.TypeKind switch
            {
                TypeKind.Struct => type.IsRecord ? "record struct" : "struct",
                TypeKind.Interface => "interface",
                _ => type.IsRecord ? "record" : "class",
            };
            var parameters = type.TypeParameters.IsEmpty ? "" : "<" + string.Join(", ", type.TypeParameters.Select(p => Escape(p.Name))) + ">";
            return new TypeDeclarationSpec(keyword, Escape(type.Name), parameters);
        }

        private static string DisplayName(INamedTypeSymbol type) =>
            type.ToDisplayString(new SymbolDisplayFormat(
                typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypes,
                genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters));

        /// <summary>
        /// <c>&lt;Namespace&gt;.&lt;Outer&gt;.&lt;Class&gt;</c> (identifiers without <c>@</c>); generic arity as <c>`N</c> keeps Foo and
        /// Foo&lt;T&gt; apart. <see cref="HintNames"/> sanitizes it and makes it unique.
        /// </summary>
        private static string FullName(INamedTypeSymbol type)
        {
            var parts = new List<string>();
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
                parts.Add(t.Arity == 0 ? t.Name : t.Name + "`" + t.Arity.ToString(CultureInfo.InvariantCulture));
            for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
                parts.Add(ns.Name);
            parts.Reverse();
            return string.Join(".", parts);
        }

        private static string Access(string name) => "this." + Escape(name);

        private static string Escape(string name) =>
            SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        // ---- the attribute ----

        private static string? NamedString(AttributeData attribute, string name)
        {
            foreach (var pair in attribute.NamedArguments)
                if (pair.Key == name && pair.Value.Kind == TypedConstantKind.Primitive && pair.Value.Value is string s)
                    return s;
            return null;
        }

        private static PeftOptionsSpec ParseOptions(AttributeData attribute, Compilation compilation)
        {
            string? method = null;
            if (attribute.ConstructorArguments.Length == 1)
            {
                var arg = attribute.ConstructorArguments[0];
                if (arg.Kind == TypedConstantKind.Enum && arg.Type is INamedTypeSymbol enumType)
                    method = Literal(EnumMemberName(enumType, arg.Value) ?? Convert.ToString(arg.Value, CultureInfo.InvariantCulture));
                else if (arg.Kind == TypedConstantKind.Primitive && arg.Value is string name)
                    method = Literal(name);
            }

            // Only options PeftOptions can hold are copied: the initializer must compile whatever the attribute grows.
            var settable = new HashSet<string>();
            if (compilation.GetTypeByMetadataName("OneLoRA.PeftOptions") is { } optionsType)
                foreach (var p in optionsType.GetMembers().OfType<IPropertySymbol>())
                    if (!p.IsStatic && p.SetMethod is { DeclaredAccessibility: Accessibility.Public }) settable.Add(p.Name);

            var assignments = new List<OptionAssignmentSpec>();
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Key == "Method" || !settable.Contains(pair.Key)) continue;
                var expression = Expression(pair.Value);
                if (expression is not null) assignments.Add(new OptionAssignmentSpec(pair.Key, expression));
            }
            return new PeftOptionsSpec(method, assignments.ToEquatableArray());
        }

        private static string? EnumMemberName(INamedTypeSymbol enumType, object? value)
        {
            foreach (var field in enumType.GetMembers().OfType<IFieldSymbol>())
                if (field.HasConstantValue && Equals(field.ConstantValue, value)) return field.Name;
            return null;
        }

        /// <summary>A C# expression for an attribute argument, or null for values that cannot be written back.</summary>
        private static string? Expression(TypedConstant constant)
        {
            switch (constant.Kind)
            {
                case TypedConstantKind.Enum when constant.Type is INamedTypeSymbol enumType:
                    var typeName = enumType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
                    var member = EnumMemberName(enumType, constant.Value);
                    return member is not null
                        ? typeName + "." + Escape(member)
                        : "(" + typeName + ")(" + Convert.ToString(constant.Value, CultureInfo.InvariantCulture) + ")";
                case TypedConstantKind.Primitive:
                    return constant.Value switch
                    {
                        null => "null",
                        string s => Literal(s),
                        bool b => b ? "true" : "false",
                        double d when double.IsNaN(d) => "double.NaN",
                        double d when double.IsPositiveInfinity(d) => "double.PositiveInfinity",
                        double d when double.IsNegativeInfinity(d) => "double.NegativeInfinity",
                        double d => d.ToString("R", CultureInfo.InvariantCulture) + "d",
                        float f when float.IsNaN(f) || float.IsInfinity(f) => null,
                        float f => f.ToString("R", CultureInfo.InvariantCulture) + "f",
                        long l => l.ToString(CultureInfo.InvariantCulture) + "L",
                        int i => i.ToString(CultureInfo.InvariantCulture),
                        _ => null,
                    };
                default:
                    return null;
            }
        }

        private static string Literal(string? s) =>
            s is null ? "null!" : SymbolDisplay.FormatLiteral(s, quote: true);

        // ---- call sites ----

        /// <summary>
        /// <c>m.forward(x)</c> / <c>m.call(x)</c> inside the class (any of its partial declarations, not nested types)
        /// where <c>m</c> is an adapted member, <c>this.m</c>, or <c>m[i]</c> / <c>this.m[i]</c> of an adapted collection.
        /// </summary>
        private static EquatableArray<InterceptedCallSpec> FindCalls(
            INamedTypeSymbol type, List<(ISymbol Member, PeftMemberSpec Spec)> selected, SemanticModel attributeModel, CancellationToken ct)
        {
            // Adapted members of this class; those of [Peft] bases (attached through base.CollectTargetLayers) are read
            // only when a call site names one, so a chain N deep costs O(N) in total, not O(N) per class.
            var adapted = new AdaptedMembers(type, selected);
            if (!adapted.MayHaveAny) return EquatableArray<InterceptedCallSpec>.Empty;

            var result = new List<InterceptedCallSpec>();
            foreach (var reference in type.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(ct) is not TypeDeclarationSyntax declaration) continue;
                var model = declaration.SyntaxTree == attributeModel.SyntaxTree
                    ? attributeModel
                    : attributeModel.Compilation.GetSemanticModel(declaration.SyntaxTree);
                var nodes = declaration.DescendantNodes(n => n == declaration || n is not BaseTypeDeclarationSyntax);
                foreach (var invocation in nodes.OfType<InvocationExpressionSyntax>())
                {
                    ct.ThrowIfCancellationRequested();
                    var call = Intercepted(invocation, adapted, model, ct);
                    if (call is not null) result.Add(call);
                }
            }
            return result.ToEquatableArray();
        }

        private static AttributeData? PeftAttributeOf(INamedTypeSymbol type)
        {
            foreach (var a in type.GetAttributes())
                if (a.AttributeClass is { Name: "PeftAttribute" } c && IsIn(c, "OneLoRA")) return a;
            return null;
        }

        private static InterceptedCallSpec? Intercepted(
            InvocationExpressionSyntax invocation, AdaptedMembers adapted, SemanticModel model, CancellationToken ct)
        {
            if (invocation.Expression is not MemberAccessExpressionSyntax { RawKind: (int)SyntaxKind.SimpleMemberAccessExpression } access
                || access.Name is not IdentifierNameSyntax name)
                return null;
            InterceptedKind kind;
            if (name.Identifier.ValueText == "forward") kind = InterceptedKind.Forward;
            else if (name.Identifier.ValueText == "call") kind = InterceptedKind.Call;
            else return null;

            if (!IsAdaptedReceiver(access.Expression, adapted, model, ct)) return null;
            if (model.GetSymbolInfo(invocation, ct).Symbol is not IMethodSymbol method
                || method.IsStatic || method.IsGenericMethod || method.ReducedFrom is not null
                || method.Parameters.Length != 1 || method.Parameters[0].RefKind != RefKind.None
                || !IsTensor(method.Parameters[0].Type) || !IsTensor(method.ReturnType) || method.ReturnsByRef || method.ReturnsByRefReadonly)
                return null;

            var location = model.GetInterceptableLocation(invocation, ct);
            if (location is null) return null;

            var line = name.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
            var site = FileName(invocation.SyntaxTree.FilePath) + ":" + line.ToString(CultureInfo.InvariantCulture);
            return new InterceptedCallSpec(
                kind,
                method.ContainingType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                Escape(method.Parameters[0].Name),
                location.Version,
                location.Data,
                site,
                Collapse(invocation.ToString()));
        }

        private static bool IsAdaptedReceiver(
            ExpressionSyntax receiver, AdaptedMembers adapted, SemanticModel model, CancellationToken ct)
        {
            receiver = Unparenthesize(receiver);
            if (receiver is ElementAccessExpressionSyntax element)
                return element.ArgumentList.Arguments.Count == 1
                    && IsOwnMember(Unparenthesize(element.Expression), adapted, collection: true, model, ct)
                    && model.GetTypeInfo(receiver, ct).Type is { } t && IsLinear(t);
            return IsOwnMember(receiver, adapted, collection: false, model, ct);
        }

        /// <summary><c>name</c>, <c>this.name</c> or <c>base.name</c>: an adapted instance member of this object (single or collection).</summary>
        private static bool IsOwnMember(ExpressionSyntax expression, AdaptedMembers adapted, bool collection, SemanticModel model, CancellationToken ct)
        {
            if (expression is not IdentifierNameSyntax
                && expression is not MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax or BaseExpressionSyntax, Name: IdentifierNameSyntax })
                return false;
            var symbol = model.GetSymbolInfo(expression, ct).Symbol;
            return symbol is IFieldSymbol or IPropertySymbol && !symbol.IsStatic && adapted.Contains(symbol.OriginalDefinition, collection);
        }

        /// <summary>The adapted Linear members of a class and, read on demand, of its [Peft] bases.</summary>
        private sealed class AdaptedMembers
        {
            private readonly INamedTypeSymbol type;
            private readonly Dictionary<INamedTypeSymbol, (HashSet<ISymbol> Singles, HashSet<ISymbol> Collections)> byType =
                new Dictionary<INamedTypeSymbol, (HashSet<ISymbol>, HashSet<ISymbol>)>(SymbolEqualityComparer.Default);

            public AdaptedMembers(INamedTypeSymbol type, List<(ISymbol Member, PeftMemberSpec Spec)> selected)
            {
                this.type = type;
                var own = Sets(selected);
                byType.Add(type.OriginalDefinition, own);
                MayHaveAny = own.Singles.Count > 0 || own.Collections.Count > 0 || HasPeftBase(type);
            }

            /// <summary>False when neither the class nor any base can have an adapted member: no call can be intercepted.</summary>
            public bool MayHaveAny { get; }

            public bool Contains(ISymbol member, bool collection)
            {
                if (member.ContainingType is not { } owner) return false;
                owner = owner.OriginalDefinition;
                if (!byType.TryGetValue(owner, out var sets))
                {
                    // An inherited member: adapted only when its class is a [Peft] base of this one.
                    sets = IsBase(owner) && PeftAttributeOf(owner) is { } attribute
                        ? Sets(SelectMembers(owner, attribute))
                        : (new HashSet<ISymbol>(SymbolEqualityComparer.Default), new HashSet<ISymbol>(SymbolEqualityComparer.Default));
                    byType.Add(owner, sets);
                }
                return (collection ? sets.Collections : sets.Singles).Contains(member);
            }

            private bool IsBase(INamedTypeSymbol candidate)
            {
                for (var t = type.BaseType; t is not null; t = t.BaseType)
                    if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, candidate)) return true;
                return false;
            }

            private static (HashSet<ISymbol> Singles, HashSet<ISymbol> Collections) Sets(List<(ISymbol Member, PeftMemberSpec Spec)> members)
            {
                var singles = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
                var collections = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
                foreach (var (member, spec) in members)
                    if (!spec.IsNested) (spec.Shape == MemberShape.Single ? singles : collections).Add(member.OriginalDefinition);
                return (singles, collections);
            }
        }

        // Not Path.GetFileName: on .NET Framework hosts (Visual Studio) it throws for characters invalid in paths.
        private static string FileName(string path) => path.Substring(path.LastIndexOfAny(new[] { '/', '\\' }) + 1);

        private static ExpressionSyntax Unparenthesize(ExpressionSyntax expression)
        {
            while (expression is ParenthesizedExpressionSyntax p) expression = p.Expression;
            return expression;
        }

        private static string Collapse(string code)
        {
            var sb = new StringBuilder(code.Length);
            bool space = false;
            foreach (var c in code)
            {
                if (char.IsWhiteSpace(c)) { space = sb.Length > 0; continue; }
                if (space) sb.Append(' ');
                space = false;
                sb.Append(c);
            }
            return sb.Length > 100 ? sb.ToString(0, 97) + "..." : sb.ToString();
        }
    }
}
