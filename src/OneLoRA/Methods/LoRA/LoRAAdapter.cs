using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.LoRA;

/// <summary>
/// LoRA (Hu et al. 2021, arXiv:2106.09685; HF PEFT <c>tuners/lora/layer.py</c>):
/// <c>y = W0·x + β0 + s·B·(A·drop(x))</c> with <c>A ∈ R^{r×k}</c> kaiming-uniform(a=√5) (nn.Linear's default,
/// i.e. U(−1/√k, 1/√k)), <c>B ∈ R^{d×r}</c> zeros, <c>s = α/r</c> (α/√r with rsLoRA). Dropout acts on the adapter
/// branch only and only in training mode. ΔW = s·B·A. The factor pair is the family's <see cref="LowRankAdapter"/>.
/// </summary>
public sealed class LoRAAdapter : LowRankAdapter
{
    /// <param name="layer">The layer to adapt.</param>
    /// <param name="rank">r ≥ 1.</param>
    /// <param name="scaling">s = α/r (or α/√r).</param>
    /// <param name="dropout">Adapter-branch dropout probability in [0, 1).</param>
    public LoRAAdapter(Linear layer, int rank, double scaling, double dropout = 0) : base("lora", layer, rank, scaling, dropout)
    {
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput.add(LowRankOutput(DropInput(x, Dropout)));

    /// <summary>ΔW = s·B·A (out × in), in fp32 at least.</summary>
    public Tensor DeltaWeight() => LowRankDelta();

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
}
