using System.Collections.Generic;

namespace OneLoRA;

/// <summary>How a member of a <c>[Peft]</c> class holds its layers.</summary>
public enum PeftMemberKind
{
    /// <summary>One layer (field or property).</summary>
    Single,
    /// <summary>A collection of layers: <c>ModuleList&lt;T&gt;</c> or an array.</summary>
    Collection,
}

/// <summary>One row of a <c>[Peft]</c> class's compile-time layer table.</summary>
/// <param name="MemberName">The field or property name (also its path segment).</param>
/// <param name="LayerType">The layer's type name, e.g. <c>Linear</c>, or the nested <c>[Peft]</c> class name.</param>
/// <param name="Kind">Single layer or collection.</param>
/// <param name="IsNestedPeftModule">True when the member's type is itself a <c>[Peft]</c> class (attached recursively).</param>
public sealed record PeftLayerInfo(string MemberName, string LayerType, PeftMemberKind Kind, bool IsNestedPeftModule);

/// <summary>Implemented by generated code on every <c>[Peft]</c> class.</summary>
public interface IPeftModule
{
    /// <summary>The compile-time table of adapted members (and nested <c>[Peft]</c> members).</summary>
    IReadOnlyList<PeftLayerInfo> PeftLayers { get; }

    /// <summary>The layers to adapt, with dotted paths under <paramref name="prefix"/>, recursing into nested <c>[Peft]</c> members.</summary>
    IEnumerable<TargetLayer> CollectTargetLayers(string prefix);

    /// <summary>The options written in the class's attribute (method name and named arguments).</summary>
    PeftOptions DefaultPeftOptions { get; }
}
