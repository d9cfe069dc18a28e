using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using OneLoRA.Targeting;

namespace OneLoRA.Analyzers
{
    /// <summary>
    /// Follows every use of an adapted Linear member and reports the ones whose <c>forward()</c> the generator cannot
    /// intercept (OLORA006), and Linear layers created straight into a member that is not a candidate (OLORA013).
    /// </summary>
    /// <remarks>
    /// <c>call()</c> is never reported: attach installs a forward hook on every adapted layer, so <c>call()</c> (and
    /// TorchSharp's Sequential, which runs its children with <c>call()</c>) applies the adapter wherever it happens.
    /// </remarks>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class LayerUsageAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc/>
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            DiagnosticDescriptors.AdapterBypassed,
            DiagnosticDescriptors.LayersOutOfReach);

        /// <inheritdoc/>
        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.RegisterCompilationStartAction(start =>
            {
                var symbols = PeftSymbols.TryCreate(start.Compilation);
                if (symbols is null || symbols.Linear is null) return;
                var classes = new ConcurrentDictionary<INamedTypeSymbol, PeftClass?>(SymbolEqualityComparer.Default);
                // Every member reference asks about its owner; the cache remembers the (common) "not [Peft]" answer too.
                PeftClass? Read(INamedTypeSymbol type, System.Threading.CancellationToken ct) =>
                    classes.GetOrAdd(type, t => PeftClass.Read(t, symbols, ct));

                var forwardLocals = new ForwardLocals();
                start.RegisterOperationAction(c => AnalyzeReference(c, symbols, Read, forwardLocals),
                    OperationKind.FieldReference, OperationKind.PropertyReference);
                start.RegisterOperationAction(c => AnalyzeStore(c, symbols, Read),
                    OperationKind.SimpleAssignment, OperationKind.FieldInitializer, OperationKind.PropertyInitializer);
            });
        }

        private delegate PeftClass? ClassReader(INamedTypeSymbol type, System.Threading.CancellationToken cancellationToken);

        private static void AnalyzeReference(OperationAnalysisContext context, PeftSymbols symbols, ClassReader read, ForwardLocals forwardLocals)
        {
            var reference = (IMemberReferenceOperation)context.Operation;
            var member = reference.Member.OriginalDefinition;
            if (member.IsStatic || member.ContainingType is not { } owner) return;
            var peft = read(owner, context.CancellationToken);
            var layer = peft?.LayerFor(member);
            if (peft is null || layer is null || !layer.Selected || IsWrittenTo(reference)) return;

            // The generator intercepts calls in the class itself and in [Peft] classes deriving from it (base members' sites).
            var enclosing = EnclosingType(context.ContainingSymbol)?.OriginalDefinition;
            var inside = enclosing is not null && (SymbolEqualityComparer.Default.Equals(enclosing, peft.Type)
                || (symbols.PeftAttributeOf(enclosing) is not null && DerivesFrom(enclosing, peft.Type)));
            var onThis = reference.Instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance };
            var usage = new Usage(context, symbols, peft, layer.Name, inside, onThis, forwardLocals);

            if (layer.Shape == LayerShape.Single)
            {
                usage.AnalyzeLayer(reference);
                return;
            }
            var element = reference.Parent switch
            {
                IArrayElementReferenceOperation array when array.ArrayReference == reference => array,
                IPropertyReferenceOperation { Property.IsIndexer: true } indexer when indexer.Instance == reference => indexer,
                _ => (IOperation?)null,
            };
            if (element is not null) usage.AnalyzeLayer(element);
            else usage.AnalyzeCollection(reference);
        }

        /// <summary>Targets of assignments, out arguments and deconstructions store into the member, they do not use it.</summary>
        private static bool IsWrittenTo(IOperation reference)
        {
            var parent = reference.Parent;
            if (parent is IAssignmentOperation assignment && assignment.Target == reference) return true;
            if (parent is IArgumentOperation { Parameter.RefKind: RefKind.Out }) return true;
            for (var p = parent; p is ITupleOperation; p = p.Parent)
                if (p.Parent is IDeconstructionAssignmentOperation deconstruction && deconstruction.Target == p) return true;
            return false;
        }

        private static bool DerivesFrom(INamedTypeSymbol type, INamedTypeSymbol baseType)
        {
            for (var t = type.BaseType; t is not null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, baseType)) return true;
            return false;
        }

        private static INamedTypeSymbol? EnclosingType(ISymbol? symbol) =>
            symbol as INamedTypeSymbol ?? symbol?.ContainingType;

        /// <summary>Linear layers created into a Sequential / ModuleDict / Module-typed member of a [Peft] class (OLORA013).</summary>
        private static void AnalyzeStore(OperationAnalysisContext context, PeftSymbols symbols, ClassReader read)
        {
            switch (context.Operation)
            {
                case ISimpleAssignmentOperation assignment when assignment.Target is IMemberReferenceOperation target:
                    AnalyzeStoreInto(context, symbols, read, target.Member, assignment.Value);
                    break;
                case IFieldInitializerOperation initializer:
                    foreach (var field in initializer.InitializedFields) AnalyzeStoreInto(context, symbols, read, field, initializer.Value);
                    break;
                case IPropertyInitializerOperation initializer:
                    foreach (var property in initializer.InitializedProperties) AnalyzeStoreInto(context, symbols, read, property, initializer.Value);
                    break;
            }
        }

        private static void AnalyzeStoreInto(OperationAnalysisContext context, PeftSymbols symbols, ClassReader read, ISymbol member, IOperation value)
        {
            member = member.OriginalDefinition;
            // A setter of a computed property stores somewhere else: only fields and auto-properties hold what is stored.
            if (member.IsStatic || member.ContainingType is not { } owner || !CandidateMember.IsStorage(member)) return;
            var memberType = PeftClass.TypeOf(member);
            if (memberType is null || symbols.ShapeOf(memberType) != LayerShape.None || symbols.HasNoPeft(member)) return;
            // Only TorchSharp-typed holders: user module classes are OLORA007's, Linear-generic collections OLORA013's symbol check.
            if (!LayerHolders.IsTorchSharpType(symbols.ElementOrSelf(memberType)) || PeftClassAnalyzer.MentionsLinear(symbols, memberType)) return;
            if (read(owner, context.CancellationToken) is not { } peft) return;
            var createsLinear = value.DescendantsAndSelf().Any(o =>
                o is IInvocationOperation or IObjectCreationOperation && symbols.IsLinear(o.Type));
            if (!createsLinear) return;
            var typeName = memberType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayersOutOfReach, value.Syntax.GetLocation(), member.Name, peft.Type.Name,
                $"'{member.Name}' is a '{typeName}', which is not a candidate, so the Linear layers created here stay frozen; declare each as a Linear member, or mark '{member.Name}' [NoPeft]"));
        }

        /// <summary>One reference to an adapted member and where it sits.</summary>
        private readonly struct Usage
        {
            private readonly OperationAnalysisContext context;
            private readonly PeftSymbols symbols;
            private readonly PeftClass peft;
            private readonly string name;
            private readonly bool inside;
            private readonly bool onThis;
            private readonly ForwardLocals forwardLocals;

            public Usage(OperationAnalysisContext context, PeftSymbols symbols, PeftClass peft, string name, bool inside, bool onThis,
                ForwardLocals forwardLocals)
            {
                this.forwardLocals = forwardLocals;
                this.context = context;
                this.symbols = symbols;
                this.peft = peft;
                this.name = name;
                this.inside = inside;
                this.onThis = onThis;
            }

            /// <summary>A value that is one adapted layer: the member itself or an element of an adapted collection.</summary>
            public void AnalyzeLayer(IOperation layer)
            {
                var (use, child) = UseOf(layer);
                switch (use)
                {
                    case IInvocationOperation invocation when invocation.Instance == child && IsForward(invocation.TargetMethod):
                        if (!inside) Report(layer, $"has forward() called on it outside [Peft] class '{peft.Type.Name}'");
                        else if (child != layer) Report(layer, "is converted to another type before forward() is called");
                        else if (!onThis) Report(layer, $"has forward() called through '{layer.Syntax}' instead of this instance's own member");
                        break;
                    case IMethodReferenceOperation method when method.Instance == child && IsForward(method.Method):
                        Report(layer, "is used as the method group 'forward' (a delegate)");
                        break;
                    case IConditionalAccessOperation conditional when conditional.Operation == child && CallsForward(conditional.WhenNotNull):
                        Report(layer, "has forward() called through '?.'");
                        break;
                    case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } when forwardLocals.HasForwardCall(declarator.Symbol, use):
                        Report(layer, $"is copied to local '{declarator.Symbol.Name}', whose forward() call is not intercepted");
                        break;
                    case ISimpleAssignmentOperation assignment when assignment.Value == child:
                        if (assignment.Target is ILocalReferenceOperation local)
                        {
                            if (forwardLocals.HasForwardCall(local.Local, use))
                                Report(layer, $"is copied to local '{local.Local.Name}', whose forward() call is not intercepted");
                        }
                        else if (assignment.Target is not IParameterReferenceOperation and not IDiscardOperation)
                        {
                            Report(layer, $"is stored in '{assignment.Target.Syntax}'");
                        }
                        break;
                    case IArgumentOperation argument:
                        ReportArgument(layer, argument, wholeCollection: false);
                        break;
                    case ITupleOperation or IArrayInitializerOperation or ICollectionExpressionOperation:
                        ReportContainer(layer, use);
                        break;
                }
            }

            /// <summary>The adapted collection member used as a whole (not indexed).</summary>
            public void AnalyzeCollection(IOperation collection)
            {
                var (use, child) = UseOf(collection);
                switch (use)
                {
                    case IForEachLoopOperation loop when loop.Collection == child:
                        var locals = forwardLocals;
                        if (loop.Locals.Any(l => locals.HasForwardCall(l, loop)))
                            Report(collection, "is iterated by foreach, and forward() on the loop variable is not intercepted");
                        break;
                    case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } when forwardLocals.HasForwardCall(declarator.Symbol, use):
                        Report(collection, $"is copied to local '{declarator.Symbol.Name}', whose elements' forward() calls are not intercepted");
                        break;
                    case IArgumentOperation argument:
                        ReportArgument(collection, argument, wholeCollection: true);
                        break;
                }
            }

            private void ReportArgument(IOperation layer, IArgumentOperation argument, bool wholeCollection)
            {
                if (argument.Parameter is null || IsHarmlessParameter(argument)) return;
                var method = argument.Parent switch
                {
                    IInvocationOperation invocation => invocation.TargetMethod,
                    IObjectCreationOperation creation => creation.Constructor,
                    _ => null,
                };
                if (method is null || IsTrustedCallee(method)) return;
                // LINQ over an adapted collection only bypasses adapters when one of its lambdas calls forward().
                if (wholeCollection && argument.Parent is IInvocationOperation linq
                    && method.ContainingType?.ToDisplayString() == "System.Linq.Enumerable" && !LambdaCallsForward(linq)) return;
                var callee = method.MethodKind == MethodKind.Constructor ? "new " + method.ContainingType?.Name : method.Name;
                Report(layer, $"is passed to '{callee}'");
            }

            /// <summary>Tuples, arrays and collection expressions: fine when they feed Sequential, a store otherwise.</summary>
            private void ReportContainer(IOperation layer, IOperation container)
            {
                var outer = container;
                while (outer.Parent is ITupleOperation or IArrayInitializerOperation or IArrayCreationOperation
                       or ICollectionExpressionOperation or IConversionOperation)
                    outer = outer.Parent;
                if (outer.Parent is IArgumentOperation argument) ReportArgument(layer, argument, wholeCollection: false);
                else Report(layer, "is stored in a tuple, array or collection");
            }

            private bool IsHarmlessParameter(IArgumentOperation argument) =>
                argument.Parameter!.Type.SpecialType == SpecialType.System_Object || argument.Parameter.RefKind == RefKind.Out;

            /// <summary>The OneLoRA runtime's own API, and TorchSharp's Sequential (it runs children with call()).</summary>
            private bool IsTrustedCallee(IMethodSymbol method)
            {
                if (SymbolEqualityComparer.Default.Equals(method.ContainingAssembly, symbols.PeftAttribute?.ContainingAssembly)) return true;
                if (symbols.Sequential is not null && SymbolEqualityComparer.Default.Equals(method.ContainingType, symbols.Sequential)) return true;
                return method.Name == "Sequential" && LayerHolders.IsTorchSharpType(method.ContainingType)
                    && SymbolEqualityComparer.Default.Equals(method.ReturnType, symbols.Sequential);
            }

            private void Report(IOperation layer, string how) =>
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.AdapterBypassed, layer.Syntax.GetLocation(), name, how));
        }

        /// <summary>The operation that consumes <paramref name="value"/>, looking through conversions; and the child it consumes.</summary>
        private static (IOperation? Use, IOperation Child) UseOf(IOperation value)
        {
            var child = value;
            while (child.Parent is IConversionOperation) child = child.Parent;
            return (child.Parent, child);
        }

        private static bool IsForward(IMethodSymbol method) =>
            method.Name == "forward" && LayerHolders.IsTorchSharpType(method.ContainingType);

        /// <summary>True when <paramref name="operation"/> (a <c>?.</c> continuation) invokes or takes forward on the accessed value.</summary>
        private static bool CallsForward(IOperation operation)
        {
            while (operation is IConversionOperation conversion) operation = conversion.Operand;
            return operation switch
            {
                IInvocationOperation invocation => invocation.Instance is IConditionalAccessInstanceOperation && IsForward(invocation.TargetMethod),
                IMethodReferenceOperation method => method.Instance is IConditionalAccessInstanceOperation && IsForward(method.Method),
                _ => false,
            };
        }

        /// <summary>
        /// Which locals of an operation block are the receiver of forward() (directly or through an element), computed once per
        /// block: asking per copy of an adapted layer rescanned the whole method each time (4,000 copies took 10-20 s).
        /// </summary>
        private sealed class ForwardLocals
        {
            private readonly ConditionalWeakTable<IOperation, HashSet<ILocalSymbol>> byRoot = new ConditionalWeakTable<IOperation, HashSet<ILocalSymbol>>();

            /// <summary>True when <paramref name="local"/> has forward() called on it anywhere in the block holding <paramref name="from"/>.</summary>
            public bool HasForwardCall(ILocalSymbol local, IOperation from)
            {
                var root = from;
                while (root.Parent is not null) root = root.Parent;
                return byRoot.GetValue(root, Collect).Contains(local);
            }

            private static HashSet<ILocalSymbol> Collect(IOperation root)
            {
                var result = new HashSet<ILocalSymbol>(SymbolEqualityComparer.Default);
                foreach (var operation in root.DescendantsAndSelf())
                {
                    if (operation is not ILocalReferenceOperation reference || result.Contains(reference.Local)) continue;
                    IOperation value = reference;
                    if (value.Parent is IArrayElementReferenceOperation array && array.ArrayReference == value) value = array;
                    else if (value.Parent is IPropertyReferenceOperation { Property.IsIndexer: true } indexer && indexer.Instance == value) value = indexer;
                    var (use, child) = UseOf(value);
                    if ((use is IInvocationOperation invocation && invocation.Instance == child && IsForward(invocation.TargetMethod))
                        || (use is IMethodReferenceOperation method && method.Instance == child && IsForward(method.Method))
                        || (use is IConditionalAccessOperation conditional && conditional.Operation == child && CallsForward(conditional.WhenNotNull)))
                        result.Add(reference.Local);
                }
                return result;
            }
        }

        /// <summary>True when a lambda passed to the LINQ call takes a layer and calls forward() on it (or passes forward as a method group).</summary>
        private static bool LambdaCallsForward(IInvocationOperation invocation)
        {
            foreach (var argument in invocation.Arguments)
            {
                foreach (var operation in argument.Value.DescendantsAndSelf())
                {
                    if (operation is IAnonymousFunctionOperation lambda
                        && lambda.Symbol.Parameters.Any(p => CallsForwardOnParameter(p, lambda.Body))) return true;
                    if (operation is IMethodReferenceOperation method && IsForward(method.Method)) return true;
                }
            }
            return false;
        }

        private static bool CallsForwardOnParameter(IParameterSymbol parameter, IOperation body) =>
            body.DescendantsAndSelf().Any(o => o is IInvocationOperation invocation && IsForward(invocation.TargetMethod)
                && invocation.Instance is IParameterReferenceOperation p && SymbolEqualityComparer.Default.Equals(p.Parameter, parameter));
    }
}
