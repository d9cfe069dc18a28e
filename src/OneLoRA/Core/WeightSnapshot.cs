using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>Bitwise copies of a layer's weight and bias, to undo a failed merge exactly.</summary>
internal sealed class WeightSnapshot : IDisposable
{
    private readonly Tensor weight;
    private readonly Tensor? bias;
    private readonly bool weightFinite;
    private readonly bool biasFinite;

    private WeightSnapshot(Tensor weight, Tensor? bias)
    {
        this.weight = weight;
        this.bias = bias;
        weightFinite = Finite(weight);
        biasFinite = bias is null || Finite(bias);
    }

    public static WeightSnapshot Take(Linear layer)
    {
        // The scope takes the detach() aliases; the copies are detached from it.
        using var scope = NewDisposeScope();
        using (no_grad())
            return new WeightSnapshot(layer.weight!.detach().clone().DetachFromDisposeScope(),
                layer.bias?.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>True when a weight (or bias) that was finite before holds NaN or ±Inf now.</summary>
    public bool BecameNonFinite(Linear layer) =>
        (weightFinite && !Finite(layer.weight!)) || (biasFinite && layer.bias is { } b && !Finite(b));

    /// <summary>Writes the copies back (a bias created since, as BitFit does on a bias-less layer, is removed).</summary>
    public void Restore(Linear layer)
    {
        using (no_grad())
        {
            layer.weight!.copy_(weight);
            if (bias is null) layer.bias = null;
            else layer.bias!.copy_(bias);
        }
    }

    public void Dispose()
    {
        weight.Dispose();
        bias?.Dispose();
    }

    private static bool Finite(Tensor t)
    {
        if (!t.is_floating_point() || t.numel() == 0) return true;
        using var scope = NewDisposeScope();
        return isfinite(t).all().item<bool>();
    }
}
