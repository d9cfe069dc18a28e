using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>A layer chosen for adaptation: its dotted path in the model and the layer itself.</summary>
public sealed record TargetLayer(string Path, Linear Layer);

/// <summary>
/// A PEFT method as a strategy: creates the adapters for the target layers of one attach, and names what else
/// it trains. Stateless between attaches; one instance may attach to many models.
/// </summary>
public interface IPeftMethod
{
    /// <summary>Canonical name, e.g. <c>OneLoRA</c>, <c>LoRA</c>.</summary>
    string Name { get; }

    /// <summary>The <c>peft_type</c> written to <c>adapter_config.json</c> (PEFT's own where PEFT has the method).</summary>
    string PeftType { get; }

    /// <summary>
    /// Creates one adapter per layer, in order. All layers of one attach arrive in one call, so methods with
    /// state shared across layers (VeRA's projections) can size it. Called outside any dispose scope.
    /// </summary>
    IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers);

    /// <summary>
    /// Parameters outside the adapters that the method trains (norm layers, biases; everything for full
    /// fine-tuning), with their dotted names in <paramref name="root"/>. Attach unfreezes exactly these.
    /// </summary>
    IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers);

    /// <summary>Method-specific entries for <c>adapter_config.json</c> (beside peft_type and target_modules).</summary>
    IReadOnlyDictionary<string, object?> ConfigEntries { get; }
}
