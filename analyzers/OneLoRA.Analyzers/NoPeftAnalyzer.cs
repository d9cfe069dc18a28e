using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using OneLoRA.Targeting;

namespace OneLoRA.Analyzers
{
    /// <summary>[NoPeft] where nothing reads it (OLORA010): outside a [Peft] class, on static members, on computed properties, or on members holding no Linear layers.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class NoPeftAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc/>
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.NoPeftHasNoEffect);

        /// <inheritdoc/>
        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.RegisterCompilationStartAction(start =>
            {
                var symbols = PeftSymbols.TryCreate(start.Compilation);
                if (symbols?.NoPeftAttribute is null) return;
                var holders = new LayerHolders(symbols);
                start.RegisterSymbolAction(c => Analyze(c, symbols, holders), SymbolKind.Field, SymbolKind.Property);
            });
        }

        private static void Analyze(SymbolAnalysisContext context, PeftSymbols symbols, LayerHolders holders)
        {
            var member = context.Symbol;
            AttributeData? noPeft = null;
            foreach (var attribute in member.GetAttributes())
                if (SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, symbols.NoPeftAttribute)) noPeft = attribute;
            if (noPeft?.ApplicationSyntaxReference is not { } reference) return;

            var why = WhyNoEffect(member, symbols, holders);
            if (why is null) return;
            var location = Location.Create(reference.SyntaxTree, reference.Span);
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NoPeftHasNoEffect, location, member.Name, why));
        }

        private static string? WhyNoEffect(ISymbol member, PeftSymbols symbols, LayerHolders holders)
        {
            if (member.ContainingType is null || symbols.PeftAttributeOf(member.ContainingType) is null)
                return $"class '{member.ContainingType?.Name}' is not [Peft]";
            if (member.IsStatic) return "static members are never adapted";
            if (CandidateMember.IsComputedProperty(member))
                return "computed properties are not candidates (it has no backing field; mark the member it reads instead)";
            var type = PeftClass.TypeOf(member);
            if (type is null || symbols.ShapeOf(type) != LayerShape.None || PeftClassAnalyzer.MentionsLinear(symbols, type)) return null;
            var element = symbols.ElementOrSelf(type);
            // TorchSharp containers and the Module base types may hold Linear layers (OLORA013 reads [NoPeft] there).
            if (symbols.IsTorchContainer(element) || (LayerHolders.IsTorchSharpType(element) && element.Name == "Module")) return null;
            if (element is INamedTypeSymbol named && named.TypeKind == TypeKind.Class && symbols.IsModule(named)
                && !LayerHolders.IsTorchSharpType(named) && (symbols.PeftAttributeOf(named) is not null || holders.HoldsLayers(named)))
                return null;
            return $"'{type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}' holds no Linear layers";
        }
    }
}
