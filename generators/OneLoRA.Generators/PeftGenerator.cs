using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using OneLoRA.Generators.Model;

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
                    static (ctx, ct) => PeftParser.ParseOrFailure(ctx, ct))
                .WithTrackingName(TrackingNames.PeftClass)
                .Where(static model => model is not null)
                .Select(static (model, _) => model!)
                .WithTrackingName(TrackingNames.GeneratedClass);

            // Hint names must be unique across all classes; unchanged files still compare equal and stay cached.
            var files = classes.Collect()
                .SelectMany(static (models, _) => HintNames.Assign(models))
                .WithTrackingName(TrackingNames.GeneratedFile);

            context.RegisterSourceOutput(files, static (spc, file) => Write(spc, file));
        }

        /// <summary>Adds one file; an emitter failure yields a file that says so rather than an exception that drops every file.</summary>
        private static void Write(SourceProductionContext context, GeneratedFileModel file)
        {
            string text;
            try
            {
                text = PeftEmitter.Emit(file.Model);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                text = PeftEmitter.EmitFailure(file.Model.Class.DisplayName, e.GetType().Name + ": " + e.Message);
            }
            context.AddSource(file.HintName, text);
        }
    }
}
