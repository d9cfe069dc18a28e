using System;

namespace OneLoRA;

/// <summary>
/// A merge or unmerge was refused or failed: an adapter tensor or the merged result holds a non-finite value,
/// or the method's merge threw. Names the layer; when thrown, every weight of the model is as it was before
/// the call (bit for bit: layers merged before the failing one were rolled back from copies).
/// </summary>
public sealed class AdapterMergeException : InvalidOperationException
{
    /// <summary>Creates the exception for a layer.</summary>
    public AdapterMergeException(string layerPath, string message, Exception? inner = null) : base(message, inner) =>
        LayerPath = layerPath;

    /// <summary>The dotted path of the layer whose merge failed.</summary>
    public string LayerPath { get; }
}
