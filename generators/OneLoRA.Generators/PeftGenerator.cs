using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OneLoRA.Generators
{
    /// <summary>
    /// Generates, for each <c>[Peft]</c> partial TorchSharp module, its compile-time layer table,
    /// <c>AttachAdapters</c>/<c>MergeAdapters</c>/<c>UnmergeAdapters</c>, <c>IPeftModule</c>, and interceptors that
    /// route <c>forward</c>/<c>call</c> on adapted members through the adapters. Reports no diagnostics.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class PeftGenerator : IIncrementalGenerator
    {
        /// <inheritdoc />
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var classes = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    PeftParser.PeftAttributeName,
                    static (node, _) => node is ClassDeclarationSyntax,
                    static (ctx, ct) => PeftParser.Parse(ctx, ct))
                .WithTrackingName(TrackingNames.PeftClass)
                .Where(static model => model is not null)
                .WithTrackingName(TrackingNames.GeneratedClass);

            context.RegisterSourceOutput(classes, static (spc, model) =>
                spc.AddSource(model!.Class.HintName, PeftEmitter.Emit(model)));
        }
    }
}
