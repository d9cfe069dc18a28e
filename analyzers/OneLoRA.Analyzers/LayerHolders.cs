using System.Collections.Concurrent;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace OneLoRA.Analyzers
{
    /// <summary>
    /// Answers "does this module class hold Linear layers?" (directly, through base classes, or through module-typed
    /// members), cached per compilation. TorchSharp's own modules are out of scope: their layers are not ours to adapt.
    /// </summary>
    internal sealed class LayerHolders
    {
        private readonly PeftSymbols symbols;
        private readonly ConcurrentDictionary<INamedTypeSymbol, bool> cache = new ConcurrentDictionary<INamedTypeSymbol, bool>(SymbolEqualityComparer.Default);

        public LayerHolders(PeftSymbols symbols) => this.symbols = symbols;

        /// <summary>True for user module classes (not TorchSharp's, not Linear) whose members hold Linear layers.</summary>
        public bool HoldsLayers(INamedTypeSymbol type) =>
            cache.GetOrAdd(type, t => Holds(t, new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default)));

        public static bool IsTorchSharpType(ITypeSymbol type) => type.ContainingAssembly?.Name == "TorchSharp";

        private bool Holds(INamedTypeSymbol type, HashSet<INamedTypeSymbol> visited)
        {
            for (var t = type; t is not null && !IsTorchSharpType(t); t = t.BaseType)
            {
                if (!visited.Add(t)) return false;
                foreach (var member in PeftClass.InstanceMembers(t))
                {
                    var memberType = PeftClass.TypeOf(member);
                    if (memberType is null) continue;
                    if (symbols.ShapeOf(memberType) != LayerShape.None) return true;
                    if (symbols.ElementOrSelf(memberType) is INamedTypeSymbol element && symbols.IsModule(element) && !IsTorchSharpType(element)
                        && (symbols.PeftAttributeOf(element) is not null || Holds(element, visited)))
                        return true;
                }
            }
            return false;
        }
    }
}
