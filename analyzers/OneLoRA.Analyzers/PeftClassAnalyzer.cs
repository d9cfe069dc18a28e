using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using OneLoRA.Targeting;

namespace OneLoRA.Analyzers
{
    /// <summary>
    /// Class-level checks of every [Peft] class: partial (OLORA002, OLORA011), a torch module (OLORA003), which Linear
    /// members the globs leave un-adapted (OLORA001), globs that match nothing (OLORA004), module members whose layers stay
    /// frozen (OLORA007), nothing to adapt (OLORA012) and Linear layers held where the generator cannot reach (OLORA013).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class PeftClassAnalyzer : DiagnosticAnalyzer
    {
        /// <summary>Property on OLORA001 naming why the member is not adapted: <c>Targets</c> or <c>Exclude</c>.</summary>
        internal const string ReasonProperty = "Reason";

        /// <inheritdoc/>
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            DiagnosticDescriptors.LayerNotAdapted,
            DiagnosticDescriptors.ClassNotPartial,
            DiagnosticDescriptors.ClassNotModule,
            DiagnosticDescriptors.GlobMatchesNothing,
            DiagnosticDescriptors.ModuleNotPeft,
            DiagnosticDescriptors.ContainingTypeNotPartial,
            DiagnosticDescriptors.NothingToAdapt,
            DiagnosticDescriptors.LayersOutOfReach,
            DiagnosticDescriptors.FileLocalClass,
            DiagnosticDescriptors.GeneratedNameClash,
            DiagnosticDescriptors.LanguageVersionTooLow);

        /// <inheritdoc/>
        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.RegisterCompilationStartAction(start =>
            {
                var symbols = PeftSymbols.TryCreate(start.Compilation);
                if (symbols is null) return;
                var holders = new LayerHolders(symbols);
                start.RegisterSymbolAction(c => Analyze(c, symbols, holders), SymbolKind.NamedType);
            });
        }

        private static void Analyze(SymbolAnalysisContext context, PeftSymbols symbols, LayerHolders holders)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var peft = PeftClass.Read(type, symbols, context.CancellationToken);
            if (peft is null) return;

            ReportNotPartial(context, type, DiagnosticDescriptors.ClassNotPartial, type.Name);
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
                ReportNotPartial(context, outer, DiagnosticDescriptors.ContainingTypeNotPartial, outer.Name, type.Name);

            if (!symbols.IsModule(type))
            {
                // Layer checks presume a module; the one error says what is wrong.
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ClassNotModule, ClassLocation(peft), type.Name));
                return;
            }

            ReportBlockers(context, peft);

            foreach (var layer in peft.Layers)
                if (!layer.Selected && !layer.NoPeft)
                    ReportNotAdapted(context, peft, layer);

            if (peft.Layers.IsEmpty && peft.Nested.IsEmpty)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NothingToAdapt, ClassLocation(peft), type.Name));
            else
                ReportUnmatchedGlobs(context, peft);

            foreach (var member in PeftClass.DeclaredMembers(type))
                AnalyzeMember(context, peft, member, symbols, holders);
        }

        /// <summary>OLORA014-016: the generator's own skip rule (<see cref="GenerationBlockers"/>), reported with the reason.</summary>
        private static void ReportBlockers(SymbolAnalysisContext context, PeftClass peft)
        {
            var type = peft.Type;
            var classLocation = ClassLocation(peft);
            if (GenerationBlockers.FileLocalType(type) is { } fileLocal)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.FileLocalClass, classLocation, type.Name,
                    SymbolEqualityComparer.Default.Equals(fileLocal, type)
                        ? "it is declared 'file'"
                        : $"it is nested in the file-local type '{fileLocal.Name}'"));

            var tree = peft.Syntax?.SyntaxTree ?? classLocation.SourceTree;
            if (tree is not null && GenerationBlockers.LanguageVersionOf(tree) < GenerationBlockers.MinimumLanguageVersion)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LanguageVersionTooLow, classLocation, type.Name,
                    GenerationBlockers.LanguageVersionOf(tree).ToDisplayString()));

            foreach (var (symbol, name) in GenerationBlockers.Clashes(type))
            {
                var inherited = !SymbolEqualityComparer.Default.Equals(symbol, type) && symbol is not ITypeParameterSymbol
                    && !SymbolEqualityComparer.Default.Equals(symbol.ContainingType, type);
                string kind = SymbolEqualityComparer.Default.Equals(symbol, type) ? "Class name"
                    : symbol is ITypeParameterSymbol ? "Type parameter"
                    : inherited ? $"Member inherited from '{symbol.ContainingType?.Name}'"
                    : "Member";
                var why = name.StartsWith(GenerationBlockers.ReservedPrefix, System.StringComparison.Ordinal)
                    ? $"starts with '{GenerationBlockers.ReservedPrefix}', reserved for generated members"
                    : $"has the name of the generated member '{name}'";
                var location = !inherited && symbol.Locations.FirstOrDefault(l => l.IsInSource) is { } own && !SymbolEqualityComparer.Default.Equals(symbol, type)
                    ? own
                    : classLocation;
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.GeneratedNameClash, location, kind, name, type.Name, why));
            }
        }

        private static void ReportNotPartial(SymbolAnalysisContext context, INamedTypeSymbol type, DiagnosticDescriptor descriptor, params object[] args)
        {
            foreach (var reference in type.DeclaringSyntaxReferences)
                if (reference.GetSyntax(context.CancellationToken) is TypeDeclarationSyntax declaration
                    && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                    context.ReportDiagnostic(Diagnostic.Create(descriptor, declaration.Identifier.GetLocation(), args));
        }

        private static Location ClassLocation(PeftClass peft) =>
            peft.Syntax?.FirstAncestorOrSelf<TypeDeclarationSyntax>()?.Identifier.GetLocation()
            ?? (peft.Type.Locations.IsEmpty ? Location.None : peft.Type.Locations[0]);

        private static void ReportNotAdapted(SymbolAnalysisContext context, PeftClass peft, LayerMember layer)
        {
            string reason, why;
            if (TargetGlob.AnyMatch(TargetGlob.Split(peft.Targets ?? ""), layer.Name, PeftClass.LayerTypeName))
            {
                var glob = TargetGlob.Split(peft.Exclude ?? "").First(g => TargetGlob.IsMatch(g, layer.Name) || TargetGlob.IsMatch(g, PeftClass.LayerTypeName));
                reason = "Exclude";
                why = $"Exclude glob '{glob}' matches it";
            }
            else
            {
                reason = "Targets";
                why = peft.Targets is null
                    ? "Targets is null"
                    : $"no Targets glob matches '{layer.Name}' or '{PeftClass.LayerTypeName}' (Targets = \"{peft.Targets}\")";
            }
            var properties = ImmutableDictionary<string, string?>.Empty.Add(ReasonProperty, reason);
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayerNotAdapted, layer.Symbol.Locations[0], properties,
                layer.Name, peft.Type.Name, why));
        }

        private static void ReportUnmatchedGlobs(SymbolAnalysisContext context, PeftClass peft)
        {
            var layerNames = peft.Layers.Select(l => l.Name).ToList();
            if (layerNames.Count > 0) layerNames.Add(PeftClass.LayerTypeName);
            // Exclude also removes nested [Peft] members, by member name or module type name.
            var excludeNames = new List<string>(layerNames);
            foreach (var nested in peft.Nested)
            {
                excludeNames.Add(nested.Name);
                if (!excludeNames.Contains(nested.ModuleType.Name)) excludeNames.Add(nested.ModuleType.Name);
            }

            ReportUnmatched(context, peft, "Targets", peft.Targets, layerNames);
            ReportUnmatched(context, peft, "Exclude", peft.Exclude, excludeNames);
        }

        private static void ReportUnmatched(SymbolAnalysisContext context, PeftClass peft, string option, string? value, List<string> names)
        {
            var argument = peft.NamedArgumentSyntax(option);
            if (argument is null || value is null) return;
            var candidates = names.Count == 0 ? "none" : string.Join(", ", names);
            foreach (var (glob, location) in GlobSpans.Locate(argument.Expression, value))
                if (!names.Any(n => TargetGlob.IsMatch(glob, n)))
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.GlobMatchesNothing, location, option, glob, peft.Type.Name, candidates));
        }

        private static void AnalyzeMember(SymbolAnalysisContext context, PeftClass peft, ISymbol member, PeftSymbols symbols, LayerHolders holders)
        {
            var memberType = PeftClass.TypeOf(member);
            if (memberType is null || symbols.HasNoPeft(member)) return;
            var location = member.Locations[0];
            var shape = symbols.ShapeOf(memberType);

            if (member.IsStatic)
            {
                if (shape != LayerShape.None || MentionsLinear(symbols, memberType))
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayersOutOfReach, location, member.Name, peft.Type.Name,
                        "static members are not candidates; make it an instance member"));
                return;
            }
            if (shape != LayerShape.None) return;

            if (MentionsLinear(symbols, memberType))
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayersOutOfReach, location, member.Name, peft.Type.Name,
                    $"'{memberType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}' is not a layer type the generator adapts; use Linear, Linear[] or ModuleList<Linear>"));
                return;
            }

            if (symbols.ElementOrSelf(memberType) is INamedTypeSymbol element && element.TypeKind == TypeKind.Class
                && symbols.IsModule(element) && !LayerHolders.IsTorchSharpType(element)
                && symbols.PeftAttributeOf(element) is null && holders.HoldsLayers(element))
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ModuleNotPeft, location, member.Name, peft.Type.Name,
                    element.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)));
        }

        /// <summary>Linear anywhere inside the type: List&lt;Linear&gt;, Linear[][], ModuleDict&lt;Linear&gt;, (string, Linear)[]...</summary>
        internal static bool MentionsLinear(PeftSymbols symbols, ITypeSymbol type) => type switch
        {
            _ when symbols.IsLinear(type) => true,
            IArrayTypeSymbol array => MentionsLinear(symbols, array.ElementType),
            INamedTypeSymbol named => named.TypeArguments.Any(t => MentionsLinear(symbols, t)),
            _ => false,
        };
    }
}
