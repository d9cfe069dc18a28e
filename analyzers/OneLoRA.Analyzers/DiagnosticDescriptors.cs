using Microsoft.CodeAnalysis;

namespace OneLoRA.Analyzers
{
    /// <summary>Every diagnostic the OneLoRA analyzers report; ids are stable once released (see AnalyzerReleases.*.md).</summary>
    internal static class DiagnosticDescriptors
    {
        private const string Category = "OneLoRA";
        private const string HelpBase = "https://github.com/onelora/OneLoRA.Gen/blob/main/docs/diagnostics.md#";

        public static readonly DiagnosticDescriptor LayerNotAdapted = Create(
            "OLORA001", DiagnosticSeverity.Warning,
            "Linear member of a [Peft] class is not adapted",
            "Linear member '{0}' of [Peft] class '{1}' is not adapted: {2}; add it to Targets, or mark it [NoPeft] to keep it frozen deliberately",
            "A Linear, Linear[] or ModuleList<Linear> member of a [Peft] class that Targets does not select (or Exclude removes) stays frozen and un-adapted. " +
            "This is usually a typo in a glob; [NoPeft] states that it is deliberate.");

        public static readonly DiagnosticDescriptor ClassNotPartial = Create(
            "OLORA002", DiagnosticSeverity.Error,
            "[Peft] class must be partial",
            "[Peft] class '{0}' must be declared partial so the generator can add AttachAdapters, MergeAdapters and UnmergeAdapters",
            "The source generator adds members to every [Peft] class through a partial declaration; a non-partial class gets no generated code.");

        public static readonly DiagnosticDescriptor ClassNotModule = Create(
            "OLORA003", DiagnosticSeverity.Error,
            "[Peft] class must derive from torch.nn.Module",
            "[Peft] class '{0}' does not derive from TorchSharp's torch.nn.Module",
            "Only TorchSharp modules have registered layers that adapters can be attached to; derive the class from nn.Module<...> or remove [Peft].");

        public static readonly DiagnosticDescriptor GlobMatchesNothing = Create(
            "OLORA004", DiagnosticSeverity.Warning,
            "Targets/Exclude glob matches no member",
            "{0} glob '{1}' matches no member of [Peft] class '{2}' (names it can match: {3})",
            "Each ;-separated glob in Targets and Exclude should match at least one candidate member name or layer type name; one that matches nothing is usually a typo.");

        public static readonly DiagnosticDescriptor InvalidOption = Create(
            "OLORA005", DiagnosticSeverity.Error,
            "Invalid [Peft] option",
            "[Peft] option {0} on class '{1}' is invalid: {2}",
            "The attribute's method and option values are checked at compile time with the same ranges the runtime enforces, so a bad value fails the build instead of AttachAdapters().");

        public static readonly DiagnosticDescriptor AdapterBypassed = Create(
            "OLORA006", DiagnosticSeverity.Warning,
            "Adapted layer is used where its adapter is bypassed",
            "Adapted layer '{0}' {1}; the generator can only route forward() calls written directly on the member inside its class, so this use may run the layer without its adapter",
            "Calls like fc1.forward(x) inside the [Peft] class are intercepted and routed through the adapter, and call() runs the adapter's forward hook anywhere. " +
            "A forward() reached through a delegate, a local, another object or another class calls the frozen base layer directly.");

        public static readonly DiagnosticDescriptor ModuleNotPeft = Create(
            "OLORA007", DiagnosticSeverity.Warning,
            "Module member holds Linear layers but its class is not [Peft]",
            "Member '{0}' of [Peft] class '{1}' has module type '{2}', which holds Linear layers but is not [Peft]; its layers stay frozen (annotate '{2}' with [Peft], or mark '{0}' [NoPeft])",
            "Adapters are attached recursively only through members whose class is itself [Peft]; the Linear layers of any other module class stay frozen.");

        public static readonly DiagnosticDescriptor UnknownMethodName = Create(
            "OLORA008", DiagnosticSeverity.Warning,
            "PEFT method name is not built in",
            "Method name '{0}' on [Peft] class '{1}' is not a built-in method or alias; make sure a plugin registers it before AttachAdapters() runs",
            "Built-in names are OneLoRA, LoRA, DoRA, VeRA, MoRA, BitFit, DiffFit and Full with their aliases (case-insensitive). Other names are legal only when a plugin method registers them at run time.");

        public static readonly DiagnosticDescriptor OptionHasNoEffect = Create(
            "OLORA009", DiagnosticSeverity.Warning,
            "[Peft] option has no effect for the chosen method",
            "Option {0} has no effect with method {1}: {2}",
            "Every built-in method reads only its own options; an option it does not read is silently ignored, which usually means the wrong method or option was chosen.");

        public static readonly DiagnosticDescriptor NoPeftHasNoEffect = Create(
            "OLORA010", DiagnosticSeverity.Warning,
            "[NoPeft] has no effect here",
            "[NoPeft] on '{0}' has no effect: {1}",
            "[NoPeft] keeps a Linear field or auto-property (or a module member) of a [Peft] class frozen; anywhere else, including on a computed property (a view of another member, never a candidate), nothing reads it.");

        public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Create(
            "OLORA011", DiagnosticSeverity.Error,
            "Type containing a [Peft] class must be partial",
            "Type '{0}' contains [Peft] class '{1}' and must be declared partial so the generator can extend the nested class",
            "Generated code re-declares every containing type of a nested [Peft] class as partial; a non-partial containing type makes that impossible.");

        public static readonly DiagnosticDescriptor NothingToAdapt = Create(
            "OLORA012", DiagnosticSeverity.Warning,
            "[Peft] class has no layers to adapt",
            "[Peft] class '{0}' declares no Linear, Linear[] or ModuleList<Linear> member and no member of a [Peft] module type, so AttachAdapters() adapts nothing",
            "Only fields and auto-properties declared in the class are candidates; layers inside Sequential or other containers, computed properties, inherited members and static members are not.");

        public static readonly DiagnosticDescriptor LayersOutOfReach = Create(
            "OLORA013", DiagnosticSeverity.Warning,
            "Linear layers are held where the generator cannot adapt them",
            "Linear layers in '{0}' of [Peft] class '{1}' are never adapted: {2}",
            "Candidates are instance fields and auto-properties of type Linear, Linear[] or ModuleList<Linear> (computed properties are views of other members, never candidates). Static members, other collection types and Linear layers " +
            "placed inside Sequential or other module containers are not adapted.");

        public static readonly DiagnosticDescriptor FileLocalClass = Create(
            "OLORA014", DiagnosticSeverity.Error,
            "[Peft] class must not be a file-local type",
            "[Peft] class '{0}' gets no generated code: {1}; the generated members live in another file, which cannot extend a file-local type",
            "The generator adds AttachAdapters, MergeAdapters, UnmergeAdapters and IPeftModule in a separate generated file. A file-local type (the 'file' modifier) " +
            "is visible only in its own file, so neither it nor a class nested in it can be extended there; the generator skips it.");

        public static readonly DiagnosticDescriptor GeneratedNameClash = Create(
            "OLORA015", DiagnosticSeverity.Error,
            "Name clashes with a generated member",
            "{0} '{1}' of [Peft] class '{2}' {3}, so the class gets no generated code; rename it",
            "The generator adds AttachAdapters, MergeAdapters, UnmergeAdapters, CollectTargetLayers, PeftLayers, DefaultPeftOptions and private members named __Peft... " +
            "to every [Peft] class. A member, type parameter, class name or inherited (non-[Peft] base) member of the same name would not compile next to them; the generator skips the class.");

        public static readonly DiagnosticDescriptor LanguageVersionTooLow = Create(
            "OLORA016", DiagnosticSeverity.Error,
            "[Peft] needs C# 11 or later",
            "[Peft] class '{0}' gets no generated code: the project compiles C# {1}, and the generated code needs C# 11 (it declares file-local types); set <LangVersion> to 11 or later",
            "The generated file declares its interceptors and InterceptsLocationAttribute as file-local types, a C# 11 feature (it also uses nullable annotations, C# 8). " +
            "Below C# 11 the generator emits nothing for any [Peft] class.");

        private static DiagnosticDescriptor Create(string id, DiagnosticSeverity severity, string title, string message, string description) =>
            new DiagnosticDescriptor(id, title, message, Category, severity, isEnabledByDefault: true, description: description,
                helpLinkUri: HelpBase + id.ToLowerInvariant());
    }
}
