using System.Collections.Generic;
using OneLoRA;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Training;

/// <summary>
/// The head-only baseline as a method that adapts nothing: attached to no layer, it freezes the whole model (backbone or encoder),
/// and the new head (trained in full through <see cref="PeftAttachment.TrainFully"/>) is the only trainable part.
/// Its adapter file holds just the head.
/// </summary>
public sealed class HeadOnlyMethod : IPeftMethod
{
    /// <inheritdoc />
    public string Name => "Head";

    /// <inheritdoc />
    public string PeftType => "HEAD_ONLY";

    /// <inheritdoc />
    public IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Count == 0 ? [] : throw new System.InvalidOperationException($"The head-only baseline adapts no layer; it was given {layers.Count}.");

    /// <inheritdoc />
    public IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers) => [];

    /// <inheritdoc />
    public IReadOnlyDictionary<string, object?> ConfigEntries => new Dictionary<string, object?>();
}
