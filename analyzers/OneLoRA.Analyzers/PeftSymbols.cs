using Microsoft.CodeAnalysis;

namespace OneLoRA.Analyzers
{
    /// <summary>The OneLoRA and TorchSharp types the analyzers look for, resolved once per compilation by metadata name.</summary>
    internal sealed class PeftSymbols
    {
        public const string PeftAttributeName = "OneLoRA.PeftAttribute";
        public const string NoPeftAttributeName = "OneLoRA.NoPeftAttribute";

        private PeftSymbols(Compilation compilation)
        {
            PeftAttribute = compilation.GetTypeByMetadataName(PeftAttributeName);
            NoPeftAttribute = compilation.GetTypeByMetadataName(NoPeftAttributeName);
            MethodEnum = compilation.GetTypeByMetadataName("OneLoRA.Method");
            RankRuleEnum = compilation.GetTypeByMetadataName("OneLoRA.MoRARankRule");
            Module = compilation.GetTypeByMetadataName("TorchSharp.torch+nn+Module");
            Linear = compilation.GetTypeByMetadataName("TorchSharp.Modules.Linear");
            ModuleList = compilation.GetTypeByMetadataName("TorchSharp.Modules.ModuleList`1");
            ModuleDict = compilation.GetTypeByMetadataName("TorchSharp.Modules.ModuleDict`1");
            Sequential = compilation.GetTypeByMetadataName("TorchSharp.Modules.Sequential");
        }

        /// <summary>Null when the compilation does not reference the OneLoRA runtime (nothing to analyze then).</summary>
        public static PeftSymbols? TryCreate(Compilation compilation)
        {
            var symbols = new PeftSymbols(compilation);
            return symbols.PeftAttribute is null ? null : symbols;
        }

        public INamedTypeSymbol? PeftAttribute { get; }
        public INamedTypeSymbol? NoPeftAttribute { get; }
        public INamedTypeSymbol? MethodEnum { get; }
        public INamedTypeSymbol? RankRuleEnum { get; }
        public INamedTypeSymbol? Module { get; }
        public INamedTypeSymbol? Linear { get; }
        public INamedTypeSymbol? ModuleList { get; }
        public INamedTypeSymbol? ModuleDict { get; }
        public INamedTypeSymbol? Sequential { get; }

        public AttributeData? PeftAttributeOf(ISymbol symbol) => Find(symbol, PeftAttribute);

        public bool HasNoPeft(ISymbol symbol) => Find(symbol, NoPeftAttribute) is not null;

        public bool IsLinear(ITypeSymbol? type) => type is not null && Linear is not null && SymbolEqualityComparer.Default.Equals(type, Linear);

        /// <summary>True for classes deriving (directly or not) from torch.nn.Module.</summary>
        public bool IsModule(ITypeSymbol? type)
        {
            if (Module is null) return false;
            for (var t = type as INamedTypeSymbol; t is not null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t, Module)) return true;
            return false;
        }

        /// <summary>The generator's candidate shapes: Linear (single), Linear[] or ModuleList&lt;Linear&gt; (collection).</summary>
        public LayerShape ShapeOf(ITypeSymbol type)
        {
            if (IsLinear(type)) return LayerShape.Single;
            var element = CollectionElement(type);
            return element is not null && IsLinear(element) ? LayerShape.Collection : LayerShape.None;
        }

        /// <summary>The element type of a one-dimensional array or a ModuleList&lt;T&gt;; null for anything else.</summary>
        public ITypeSymbol? CollectionElement(ITypeSymbol type)
        {
            if (type is IArrayTypeSymbol { Rank: 1 } array) return array.ElementType;
            if (type is INamedTypeSymbol { IsGenericType: true } named && ModuleList is not null
                && SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, ModuleList))
                return named.TypeArguments[0];
            return null;
        }

        /// <summary>The type itself, or the element type of an array / ModuleList of it.</summary>
        public ITypeSymbol ElementOrSelf(ITypeSymbol type) => CollectionElement(type) ?? type;

        /// <summary>True for TorchSharp's own module containers (Sequential, ModuleList&lt;T&gt;, ModuleDict&lt;T&gt;).</summary>
        public bool IsTorchContainer(ITypeSymbol type)
        {
            var original = type.OriginalDefinition;
            return (Sequential is not null && SymbolEqualityComparer.Default.Equals(original, Sequential))
                || (ModuleList is not null && SymbolEqualityComparer.Default.Equals(original, ModuleList))
                || (ModuleDict is not null && SymbolEqualityComparer.Default.Equals(original, ModuleDict));
        }

        private static AttributeData? Find(ISymbol symbol, INamedTypeSymbol? attributeType)
        {
            if (attributeType is null) return null;
            foreach (var attribute in symbol.GetAttributes())
                if (SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, attributeType)) return attribute;
            return null;
        }
    }

    /// <summary>How a member holds Linear layers, in the generator's terms.</summary>
    internal enum LayerShape
    {
        /// <summary>Not a candidate type.</summary>
        None,
        /// <summary>A Linear member.</summary>
        Single,
        /// <summary>A Linear[] or ModuleList&lt;Linear&gt; member.</summary>
        Collection,
    }
}
