using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace OneLoRA.Analyzers
{
    /// <summary>
    /// Checks the [Peft] attribute's method and options: invalid values (OLORA005), method names that are not built in
    /// (OLORA008) and options the chosen built-in method does not read (OLORA009).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class PeftOptionsAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc/>
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            DiagnosticDescriptors.InvalidOption,
            DiagnosticDescriptors.UnknownMethodName,
            DiagnosticDescriptors.OptionHasNoEffect);

        /// <inheritdoc/>
        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.RegisterCompilationStartAction(start =>
            {
                var symbols = PeftSymbols.TryCreate(start.Compilation);
                if (symbols is null) return;
                start.RegisterSymbolAction(c => Analyze(c, symbols), SymbolKind.NamedType);
            });
        }

        private static void Analyze(SymbolAnalysisContext context, PeftSymbols symbols)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var peft = PeftClass.Read(type, symbols, context.CancellationToken);
            if (peft is null || peft.Attribute.AttributeConstructor is null || peft.Attribute.ConstructorArguments.Length != 1) return;

            var methodName = ReadMethod(context, peft, symbols);
            var canonical = methodName is null ? null : BuiltInMethods.Resolve(methodName);

            foreach (var named in peft.Attribute.NamedArguments)
            {
                if (named.Value.Kind == TypedConstantKind.Error) continue;
                var syntax = peft.NamedArgumentSyntax(named.Key);
                if (syntax is null) continue;
                if (canonical is not null && methodName is not null)
                {
                    var unused = WhyUnused(named.Key, canonical, methodName, peft, symbols);
                    if (unused is not null)
                    {
                        context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.OptionHasNoEffect, syntax.GetLocation(), named.Key, canonical, unused));
                        continue;
                    }
                }
                var invalid = WhyInvalid(named.Key, named.Value, symbols);
                if (invalid is not null)
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InvalidOption, syntax.Expression.GetLocation(), named.Key, type.Name, invalid));
            }
        }

        /// <summary>The method's name as the runtime will look it up, or null when it is invalid (reported) or unreadable.</summary>
        private static string? ReadMethod(SymbolAnalysisContext context, PeftClass peft, PeftSymbols symbols)
        {
            var argument = peft.Attribute.ConstructorArguments[0];
            var location = peft.MethodArgumentSyntax()?.Expression.GetLocation() ?? Location.None;
            if (argument.Kind == TypedConstantKind.Enum)
            {
                var member = symbols.MethodEnum?.GetMembers().OfType<IFieldSymbol>()
                    .FirstOrDefault(f => f.HasConstantValue && Equals(f.ConstantValue, argument.Value));
                if (member is not null) return member.Name;
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InvalidOption, location, "method", peft.Type.Name,
                    $"{Format(argument.Value)} is not a member of the OneLoRA.Method enum"));
                return null;
            }
            if (argument.Kind != TypedConstantKind.Primitive) return null;
            var name = argument.Value as string;
            if (string.IsNullOrWhiteSpace(name))
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InvalidOption, location, "method", peft.Type.Name,
                    "the method name is empty; use a Method value or a registered method name"));
                return null;
            }
            if (BuiltInMethods.Resolve(name!) is null)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnknownMethodName, location, name, peft.Type.Name));
            return name;
        }

        private static string? WhyUnused(string option, string canonical, string methodName, PeftClass peft, PeftSymbols symbols)
        {
            var readers = BuiltInMethods.ReadersOf(option);
            if (readers is not null && !readers.Contains(canonical))
                return readers.Length == 1 ? $"only {readers[0]} reads it" : $"only {Join(readers)} read it";
            if (option == "MoRAType" && BuiltInMethods.FixedMoRAType(methodName) is int fixedType)
                return $"the method name '{methodName}' fixes the MoRA type to {fixedType}";
            if (option == "Rank" && canonical == "MoRA" && RankRuleIsPaper(peft, symbols))
                return "MoRARankRule.Paper sizes MoRA's square matrix from the layer (r̂ = round(√d)); set MoRARankRule = MoRARankRule.MoRA to use Rank";
            if (option == "CompressionSeed" && canonical == "OneLoRA" && !IsTrue(peft, "RandomCompression"))
                return "it seeds the random compression vector, and RandomCompression is not set";
            return null;
        }

        private static string? WhyInvalid(string option, TypedConstant value, PeftSymbols symbols)
        {
            switch (option)
            {
                case "Rank" when value.Value is int rank && rank < 1:
                    return $"Rank must be at least 1, found {Format(rank)}";
                case "Alpha" when value.Value is double alpha && !(alpha >= 0 && !double.IsInfinity(alpha)):
                    return $"Alpha must be a finite number >= 0 (0 means alpha = rank), found {Format(alpha)}";
                case "Dropout" when value.Value is double dropout && !(dropout >= 0 && dropout < 1):
                    return $"Dropout must be in [0, 1), found {Format(dropout)}";
                case "MoRAType" when value.Value is int moraType && moraType != 1 && moraType != 6:
                    return $"MoRAType must be 1 (sharing) or 6 (RoPE), found {Format(moraType)}";
                case "VeRADInitial" when value.Value is double initial && (double.IsNaN(initial) || double.IsInfinity(initial)):
                    return $"VeRADInitial must be a finite number, found {Format(initial)}";
                case "MoRARankRule" when symbols.RankRuleEnum is not null && !symbols.RankRuleEnum.GetMembers().OfType<IFieldSymbol>()
                        .Any(f => f.HasConstantValue && Equals(f.ConstantValue, value.Value)):
                    return $"MoRARankRule must be MoRARankRule.Paper, MoRARankRule.MoRA or MoRARankRule.Floor, found {Format(value.Value)}";
                default:
                    return null;
            }
        }

        private static bool RankRuleIsPaper(PeftClass peft, PeftSymbols symbols)
        {
            var paper = symbols.RankRuleEnum?.GetMembers("Paper").OfType<IFieldSymbol>().FirstOrDefault()?.ConstantValue;
            foreach (var named in peft.Attribute.NamedArguments)
                if (named.Key == "MoRARankRule") return Equals(named.Value.Value, paper);
            return true; // the attribute's default rule is Paper
        }

        private static bool IsTrue(PeftClass peft, string option)
        {
            foreach (var named in peft.Attribute.NamedArguments)
                if (named.Key == option) return named.Value.Value is true;
            return false;
        }

        private static string Join(IReadOnlyList<string> names) =>
            names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " and " + names[names.Count - 1];

        private static string Format(object? value) => value switch
        {
            null => "null",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }
}
