using System;

namespace OneLoRA.Generators.Model
{
    // The pipeline's model: plain strings, numbers and equatable arrays only (no symbols, syntax or
    // locations), so an unchanged class compares equal across compilations and its output is cached.

    /// <summary>Everything the emitter needs for one <c>[Peft]</c> class.</summary>
    /// <param name="Class">The class, its options and its layer table.</param>
    /// <param name="Calls">The intercepted <c>forward</c>/<c>call</c> sites inside the class.</param>
    /// <param name="Failure">Set when the parser itself failed (a generator bug): the file then says so instead of the members.</param>
    public sealed record PeftClassModel(PeftClassSpec Class, EquatableArray<InterceptedCallSpec> Calls, string? Failure = null);

    /// <summary>One generated file: a class model and the hint name it is added under, unique in the compilation.</summary>
    /// <param name="HintName">File name, <c>&lt;Namespace&gt;.&lt;Class&gt;.Peft.g.cs</c>, with a suffix where names collide.</param>
    /// <param name="Model">The class.</param>
    public sealed record GeneratedFileModel(string HintName, PeftClassModel Model);

    /// <summary>A <c>[Peft]</c> partial class.</summary>
    /// <param name="HintName">Generated file name before de-duplication, <c>&lt;Namespace&gt;.&lt;Class&gt;.Peft.g.cs</c>, in
    /// characters valid in any hint name (others become <c>_</c>).</param>
    /// <param name="FullName">The class's exact full name (namespace, containing types, arity): tells apart classes whose
    /// hint names collide, since Roslyn compares hint names case-insensitively.</param>
    /// <param name="Namespace">Containing namespace, empty for the global namespace.</param>
    /// <param name="ContainingTypes">Enclosing types, outermost first, for a nested class.</param>
    /// <param name="Declaration">The class's own partial declaration head (name and type parameters).</param>
    /// <param name="DisplayName">The class name as written in messages, e.g. <c>Outer.Block</c>.</param>
    /// <param name="Options">The attribute's method and named arguments.</param>
    /// <param name="Members">Adapted Linear members and nested <c>[Peft]</c> members, in declaration order.</param>
    /// <param name="HasPeftBase">A base class is itself <c>[Peft]</c>: the generated members override and chain to its own.</param>
    /// <param name="IsSealed">The class is sealed: a root class then declares its generated members non-virtual.</param>
    public sealed record PeftClassSpec(
        string HintName,
        string FullName,
        string Namespace,
        EquatableArray<TypeDeclarationSpec> ContainingTypes,
        TypeDeclarationSpec Declaration,
        string DisplayName,
        PeftOptionsSpec Options,
        EquatableArray<PeftMemberSpec> Members,
        bool HasPeftBase,
        bool IsSealed = false);

    /// <summary>A partial type declaration head: <c>partial {Keyword} {Name}{TypeParameters}</c>.</summary>
    /// <param name="Keyword">class, struct, interface, record, record struct.</param>
    /// <param name="Name">The identifier, escaped with <c>@</c> where it is a keyword.</param>
    /// <param name="TypeParameters">Empty, or e.g. <c>&lt;T&gt;</c>.</param>
    public sealed record TypeDeclarationSpec(string Keyword, string Name, string TypeParameters);

    /// <summary>The attribute's arguments as C# expressions for a <c>PeftOptions</c> initializer.</summary>
    /// <param name="Method">Expression for <c>PeftOptions.Method</c>, or null when the attribute names none readably.</param>
    /// <param name="Assignments">Named arguments that <c>PeftOptions</c> has a settable property for.</param>
    public sealed record PeftOptionsSpec(string? Method, EquatableArray<OptionAssignmentSpec> Assignments);

    /// <summary>One <c>Property = expression</c> of the options initializer.</summary>
    public sealed record OptionAssignmentSpec(string Property, string Expression);

    /// <summary>How a member holds its layers.</summary>
    public enum MemberShape
    {
        /// <summary>A single layer (or nested module).</summary>
        Single,
        /// <summary><c>TorchSharp.Modules.ModuleList&lt;T&gt;</c>.</summary>
        ModuleList,
        /// <summary><c>T[]</c>.</summary>
        Array,
    }

    /// <summary>A row of the layer table.</summary>
    /// <param name="Name">Member name (path segment), unescaped.</param>
    /// <param name="Access">The member as an expression on <c>this</c>, escaped where needed.</param>
    /// <param name="LayerType">Linear, or the nested <c>[Peft]</c> class's name.</param>
    /// <param name="Shape">Single, ModuleList or array.</param>
    /// <param name="IsNested">True for a nested <c>[Peft]</c> module (recursed into, not adapted itself).</param>
    public sealed record PeftMemberSpec(string Name, string Access, string LayerType, MemberShape Shape, bool IsNested);

    /// <summary>Which runtime entry point an intercepted call goes to.</summary>
    public enum InterceptedKind
    {
        /// <summary><c>layer.forward(x)</c> → <c>PeftRuntime.Forward</c> (no hooks).</summary>
        Forward,
        /// <summary><c>layer.call(x)</c> → <c>PeftRuntime.Call</c> (hooks run; the adapter's hook adds its part).</summary>
        Call,
    }

    /// <summary>One intercepted call site.</summary>
    /// <param name="Kind">forward or call.</param>
    /// <param name="ReceiverType">Fully qualified type declaring the bound method (the interceptor's <c>this</c> type).</param>
    /// <param name="ParameterName">The bound method's parameter name (kept so named arguments still bind).</param>
    /// <param name="Version">InterceptsLocation version.</param>
    /// <param name="Data">InterceptsLocation data (file checksum and position, opaque).</param>
    /// <param name="Site">Where, for the comment line: <c>File.cs:12</c>.</param>
    /// <param name="Code">The call as written, whitespace collapsed.</param>
    public sealed record InterceptedCallSpec(
        InterceptedKind Kind, string ReceiverType, string ParameterName, int Version, string Data, string Site, string Code);
}
