using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// The low-rank factor pair of the LoRA family (LoRA, DoRA; Hu et al. 2021, arXiv:2106.09685): <c>A ∈ R^{r×k}</c>
/// kaiming-uniform(a=√5) (nn.Linear's default, U(−1/√k, 1/√k), PEFT's init), <c>B ∈ R^{d×r}</c> zeros, and the scaled
/// product <c>s·B·A</c> (s from <see cref="LowRankMethod.ScalingFor(PeftOptions, string)"/>). What each method does with
/// it is its own: LoRA adds it, DoRA normalises <c>W0 + s·B·A</c> by rows.
/// </summary>
public abstract class LowRankAdapter : LinearAdapter
{
    // Registered (by the derived class's RegisterComponents) under these field names: TorchSharp's .to() writes back by name.
    /// <summary>The down projection A (r × in_features).</summary>
    protected readonly Parameter A;

    /// <summary>The up projection B (out_features × r), zeros at init.</summary>
    protected readonly Parameter B;

    /// <param name="name">Module name, e.g. <c>lora</c>.</param>
    /// <param name="layer">The layer to adapt.</param>
    /// <param name="rank">r ≥ 1.</param>
    /// <param name="scaling">s = α/r (or α/√r).</param>
    /// <param name="dropout">Adapter-branch dropout probability in [0, 1).</param>
    /// <remarks>A is drawn from the global generator (as nn.Linear's init); the derived constructor calls RegisterComponents.</remarks>
    protected LowRankAdapter(string name, Linear layer, int rank, double scaling, double dropout) : base(name, layer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dropout, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(dropout, 1.0);
        Rank = rank;
        Scaling = scaling;
        Dropout = dropout;
        var w = layer.weight!;
        var a = empty(rank, layer.in_features, dtype: w.dtype, device: w.device);
        using (no_grad()) nn.init.kaiming_uniform_(a, Math.Sqrt(5));
        A = new Parameter(a);
        B = new Parameter(zeros(layer.out_features, rank, dtype: w.dtype, device: w.device));
    }

    /// <summary>r.</summary>
    public int Rank { get; }

    /// <summary>s, the factor on B·A.</summary>
    public double Scaling { get; }

    /// <summary>Adapter-branch dropout probability.</summary>
    public double Dropout { get; }

    /// <summary>The down projection A (r × in_features), PEFT's <c>lora_A</c>.</summary>
    public Parameter LoraA => A;

    /// <summary>The up projection B (out_features × r), PEFT's <c>lora_B</c>.</summary>
    public Parameter LoraB => B;

    /// <summary>s·B·(A·h) for an input <paramref name="h"/> (already dropped), without building B·A.</summary>
    protected Tensor LowRankOutput(Tensor h) => nn.functional.linear(nn.functional.linear(h, A), B).mul_(Scaling);

    /// <summary>s·B·A (out × in), in fp32 at least.</summary>
    protected Tensor LowRankDelta() => MergePrecision.Widen(B).matmul(MergePrecision.Widen(A)).mul_(Scaling);
}
