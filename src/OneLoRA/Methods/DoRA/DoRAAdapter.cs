using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.DoRA;

/// <summary>
/// DoRA (Liu et al. 2024, arXiv:2402.09353; HF PEFT <c>tuners/lora/dora.py</c>): the adapted weight is
/// <c>W' = m ⊙ (W0 + s·B·A) / n</c> with <c>n = ‖W0 + s·B·A‖</c> per output row, treated as a constant (detached,
/// DoRA §4.3). Computed without building W' for the output: <c>y = base(x) + (m/n − 1)⊙(W0·x̂) + (m/n)⊙(s·B·A·x̂)</c>,
/// x̂ = drop(x). Without active dropout <c>W0·x = base(x) − β0</c> (PEFT does the same); with it, <c>W0·x̂</c> is
/// computed. A, B and s are the LoRA family's (<see cref="LowRankAdapter"/>); magnitude <c>m ∈ R^d</c> starts as the row norms of W0, so the start is the base model.
/// Merge writes W' and keeps the row factor m/n so unmerge restores W0.
/// </summary>
public sealed class DoRAAdapter : LowRankAdapter
{
    // Field name is the registered name (TorchSharp's .to() writes back by name); A and B are the family's.
    private readonly Parameter m;
    private RowScaling? merged;

    /// <param name="layer">The layer to adapt.</param>
    /// <param name="rank">r ≥ 1.</param>
    /// <param name="scaling">s = α/r (or α/√r).</param>
    /// <param name="dropout">Adapter-branch dropout probability in [0, 1).</param>
    public DoRAAdapter(Linear layer, int rank, double scaling, double dropout = 0) : base("dora", layer, rank, scaling, dropout)
    {
        using (no_grad())
            m = new Parameter(RowNorms(layer.weight!).detach().clone());
        RegisterComponents();
    }

    /// <summary>The magnitude m (out_features), PEFT's <c>lora_magnitude_vector</c>.</summary>
    public Parameter Magnitude => m;

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput)
    {
        var w0 = layer.weight!;
        Tensor n;
        using (no_grad())
            n = RowNorms(w0.add(B.matmul(A), Scaling));
        var factor = m.div(n);
        var h = DropInput(x, Dropout);
        Tensor w0x;
        if (IsDropping(Dropout)) w0x = nn.functional.linear(h, w0);
        else w0x = layer.bias is { } bias ? baseOutput.sub(bias) : baseOutput;
        var lora = LowRankOutput(h);
        return baseOutput.add(factor.sub(1).mul(w0x)).add(factor.mul(lora));
    }

    /// <inheritdoc />
    protected override void MergeInto(Linear layer)
    {
        var w = layer.weight!;
        using var scope = NewDisposeScope();
        // W' is built in fp32 at least and rounded into the layer once (for fp32/fp64 weights wide aliases w).
        var wide = MergePrecision.Widen(w);
        var n = RowNorms(wide.add(LowRankDelta()));
        var factor = m.to(wide.dtype).div(n);
        // Safe merge: a zero row norm or a huge delta gives a non-finite factor; refuse before touching W.
        if (!isfinite(factor).all().item<bool>())
            throw new AdapterMergeException(Path, $"Cannot merge the DoRA adapter into '{Path}': the factor m/‖W0 + s·B·A‖ is non-finite (a zero or overflowing row norm); no weight was changed.");
        wide.add_(LowRankDelta());
        merged = RowScaling.Apply(wide, factor, $"'{Path}'.weight");
        if (wide.dtype != w.dtype) w.copy_(wide);
    }

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer)
    {
        var w = layer.weight!;
        using var scope = NewDisposeScope();
        var wide = MergePrecision.Widen(w);
        merged!.Undo(wide);
        merged = null;
        wide.sub_(LowRankDelta());
        if (wide.dtype != w.dtype) w.copy_(wide);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("lora_A.weight", A);
        yield return ("lora_B.weight", B);
        yield return ("lora_magnitude_vector", m);
    }

    /// <summary>‖W[i, :]‖₂ for every output row i.</summary>
    private static Tensor RowNorms(Tensor w) => linalg.vector_norm(w, 2, [1L]);

}
