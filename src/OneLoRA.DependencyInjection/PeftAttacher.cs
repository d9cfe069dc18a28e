using System;
using System.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace OneLoRA.DependencyInjection;

/// <summary>The container's <see cref="IPeftAttacher"/>; logs through <see cref="ILogger{PeftAttacher}"/> when logging is registered.</summary>
internal sealed partial class PeftAttacher(IPeftMethodFactory methods, ILogger<PeftAttacher>? logger = null) : IPeftAttacher
{
    private readonly ILogger logger = logger ?? NullLogger<PeftAttacher>.Instance;

    public PeftAttachment Attach(nn.Module model, Action<IPeftMethod> attachAdapters) =>
        Attach(model, methods.Create(), attachAdapters);

    public PeftAttachment Attach(nn.Module model, IPeftMethod method, Action<IPeftMethod> attachAdapters)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(attachAdapters);
        attachAdapters(method);
        var attachment = Peft.AttachmentFor(model)
            ?? throw new InvalidOperationException(
                $"The attach delegate did not attach adapters to {model.GetType().Name}; it must attach to the model it is given (e.g. m => model.AttachAdapters(m)).");
        Log(attachment);
        return attachment;
    }

    public PeftAttachment AttachRuntime(nn.Module model)
    {
        var options = methods.Options;
        return AttachRuntime(model, methods.Create(options), options.Targets, options.Exclude);
    }

    public PeftAttachment AttachRuntime(nn.Module model, IPeftMethod method, string targets, string exclude = "")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(method);
        var selection = PeftModel.Select(model, targets, exclude);
        foreach (var pattern in selection.UnmatchedTargets)
            UnmatchedTarget(logger, pattern, model.GetType().Name, string.Join(", ", selection.LinearPaths));
        foreach (var pattern in selection.UnmatchedExcludes)
            UnmatchedExclude(logger, pattern, model.GetType().Name);
        var attachment = PeftModel.Attach(model, selection, method);
        Log(attachment);
        return attachment;
    }

    public void Log(PeftAttachment attachment)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        var model = attachment.Root.GetType().Name;
        Adapted(logger, attachment.Method.Name, attachment.Layers.Count, model, string.Join(", ", attachment.Layers.Select(l => l.Path)));
        Report(logger, attachment.Report().ToString());
        if (!logger.IsEnabled(LogLevel.Debug)) return;
        foreach (var layer in attachment.Layers)
        {
            long trainable = layer.Adapter.TrainableParameters().Sum(p => p.numel());
            AdaptedLayer(logger, layer.Path, layer.Adapter.GetName(), layer.Adapter.InFeatures, layer.Adapter.OutFeatures, trainable);
        }
        foreach (var (name, parameter) in attachment.ExtraTrainable)
            ExtraTrainable(logger, name, parameter.numel());
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} adapted {LayerCount} layers of {Model}: {Layers}")]
    private static partial void Adapted(ILogger logger, string method, int layerCount, string model, string layers);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Report}")]
    private static partial void Report(ILogger logger, string report);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "{Path}: {Adapter} adapter on Linear({InFeatures} -> {OutFeatures}), {Trainable} trainable parameters")]
    private static partial void AdaptedLayer(ILogger logger, string path, string adapter, long inFeatures, long outFeatures, long trainable);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "{Name}: {Count} parameters trained in full")]
    private static partial void ExtraTrainable(ILogger logger, string name, long count);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Target pattern '{Pattern}' matched no Linear layer of {Model}. Linear layers: {LinearPaths}")]
    private static partial void UnmatchedTarget(ILogger logger, string pattern, string model, string linearPaths);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Exclude pattern '{Pattern}' matched no targeted layer of {Model}")]
    private static partial void UnmatchedExclude(ILogger logger, string pattern, string model);
}
