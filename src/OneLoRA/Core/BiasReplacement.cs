using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Writes a trained bias into a layer on merge and puts the original back on unmerge, exactly: the original
/// is copied aside, or, for a layer built without bias, the bias created by the merge is removed again.
/// Used by the methods that train the bias as their own β (BitFit, DiffFit); see <see cref="LayerBias"/>.
/// </summary>
internal sealed class BiasReplacement
{
    private readonly Tensor? original;

    private BiasReplacement(Tensor? original) => this.original = original;

    /// <summary>Sets the layer's bias to <paramref name="value"/> (created, frozen, when the layer has none).</summary>
    public static BiasReplacement Apply(Linear layer, Tensor value)
    {
        if (layer.bias is { } bias)
        {
            // Detached from any caller's dispose scope: unmerge needs it later.
            var saved = bias.detach().clone().DetachFromDisposeScope();
            bias.copy_(value);
            return new BiasReplacement(saved);
        }
        // Merges run inside a dispose scope; the new bias belongs to the layer, not to it.
        var created = new Parameter(value.detach().to(layer.weight!.dtype).clone().DetachFromDisposeScope(), requires_grad: false);
        created.DetachFromDisposeScope();
        layer.bias = created;
        return new BiasReplacement(null);
    }

    /// <summary>Restores the bias the layer had before <see cref="Apply"/>.</summary>
    public void Undo(Linear layer, string path)
    {
        if (original is null)
        {
            layer.bias = null;
            return;
        }
        var bias = layer.bias ?? throw new InvalidOperationException($"Layer '{path}' lost its bias while merged; cannot restore it.");
        bias.copy_(original);
        original.Dispose();
    }
}
