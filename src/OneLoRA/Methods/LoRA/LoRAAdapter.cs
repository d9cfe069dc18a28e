using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.LoRA;

/// <summary>
/// LoRA (Hu et al. 2021, arXiv:2106.09685; HF PEFT <c>tuners/lora/layer.py</c>):
/// <c>y = W0·x + β0 + s·B·(A·drop(x))</c> with <c>A ∈ R^{r×k}</c> kaiming-uniform(a=√5) (nn.Linear's default,
/// i.e. U(−1/√k, 1/√k)), <c>B ∈ R^{d×r}</c> zeros, <c>s = α/r</c> (α/√r with rsLoRA). Dropout acts on the adapter
/// branch only and only in training mode. ΔW = s·B·A.
/// </summary>
public sealed class LoRAAdapter : LinearAdapter
{
    // Field names are the registered names (TorchSharp's .to() writes back by name).
    private readonly Parameter A;
    private readonly Parameter B;

    /// <param name="layer">The layer to adapt.</param>
    /// <param name="rank">r ≥ 1.</param>
    /// <param name="scaling">s = α/r (or α/√r).</param>
    /// <param name="dropout">Adapter-branch dropout probability in [0, 1).</param>
    public LoRAAdapter(Linear layer, int rank, double scaling, double dropout = 0) : base("lora", layer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        Rank = rank;
        Scaling = scaling;
        Dropout = dropout;
        (A, B) = CreateFactors(layer, rank);
        RegisterComponents();
    }

    /// <summary>r.</summary>
    public int Rank { get; }

    /// <summary>s, the factor on B·A.</summary>
    public double Scaling { get; }

    /// <summary>Adapter-branch dropout probability.</summary>
    public double Dropout { get; }

    /// <summary>The down projection A (r × in_features).</summary>
    public Parameter LoraA => A;

    /// <summary>The up projection B (out_features × r).</summary>
    public Parameter LoraB => B;

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput)
    {
        var h = Dropout > 0 && training ? nn.functional.dropout(x, Dropout, true) : x;
        return baseOutput.add(nn.functional.linear(nn.functional.linear(h, A), B), Scaling);
    }

    /// <summary>ΔW = s·B·A (out × in), in fp32 at least.</summary>
    public Tensor DeltaWeight() => MergePrecision.Widen(B).matmul(MergePrecision.Widen(A)).mul_(Scaling);

    /// <inheritdoc />
    protected override void MergeInto(Linear layer) => AddInPlace(layer.weight!, DeltaWeight());

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer) => AddInPlace(layer.weight!, DeltaWeight(), alpha: -1);

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("lora_A.weight", A);
        yield return ("lora_B.weight", B);
    }

    /// <summary>LoRA's factors for a layer: A kaiming-uniform(a=√5) from the global generator, B zeros (PEFT's default init).</summary>
    internal static (Parameter A, Parameter B) CreateFactors(Linear layer, int rank)
    {
        var w = layer.weight!;
        var a = empty(rank, layer.in_features, dtype: w.dtype, device: w.device);
        using (no_grad()) nn.init.kaiming_uniform_(a, Math.Sqrt(5));
        var b = zeros(layer.out_features, rank, dtype: w.dtype, device: w.device);
        return (new Parameter(a), new Parameter(b));
    }
}
