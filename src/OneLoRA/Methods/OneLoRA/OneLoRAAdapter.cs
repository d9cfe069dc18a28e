using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.OneLoRA;

/// <summary>
/// 1LoRA (Quercia et al., arXiv:2503.08333, Listing 1): <c>y = W0·x + β0 + b·(1ᵀx)</c>.
/// Compression is the feature sum 1ᵀx (or vᵀx for a fixed random v ~ N(0, 1), the Table S1 ablation);
/// decompression is the trainable <c>b ∈ R^d</c>, zeros at init, so the adapted model starts as the base model.
/// ΔW = b·1ᵀ (b·vᵀ): merging adds b[i] (b[i]·v[j]) to row i of W0. Training never builds ΔW.
/// </summary>
public sealed class OneLoRAAdapter : LinearAdapter
{
    // Field names are the registered names (TorchSharp's .to() writes back by name).
    private readonly Parameter b;
    private readonly Tensor? v;
    // The all-ones compression vector, made on first use for the input's device and dtype. Not a registered
    // component (TorchSharp 0.107 neither lists nor converts non-persistent buffers), so never saved.
    // 1ᵀx as a GEMV is several times cheaper on CPU than a reduction kernel (see tests/OneLoRA.Benchmarks).
    private readonly DeviceCache<Tensor> ones;

    /// <param name="layer">The layer to adapt.</param>
    /// <param name="compression">Fixed compression vector of length in_features; null for the feature sum.</param>
    public OneLoRAAdapter(Linear layer, Tensor? compression = null) : base("onelora", layer)
    {
        b = new Parameter(zeros(OutFeatures, dtype: layer.weight!.dtype, device: layer.weight.device));
        if (compression is not null)
        {
            if (compression.shape is not [var k] || k != InFeatures)
                throw new System.ArgumentException(
                    $"1LoRA compression vector must have shape [{InFeatures}], got [{string.Join(", ", compression.shape)}].", nameof(compression));
            v = compression;
        }
        ones = new DeviceCache<Tensor>((like, _) => torch.ones(InFeatures, dtype: like.dtype, device: like.device));
        RegisterComponents();
    }

    /// <summary>The trainable decompression vector b (out_features), zeros at init; saved as <c>onelora_b</c>.</summary>
    public Parameter DecompressionVector => b;

    /// <summary>The decompression vector b; renamed so it is not read as LoRA's matrix <c>LoraB</c>.</summary>
    [System.Obsolete("Use DecompressionVector.")]
    public Parameter B => b;

    /// <summary>The fixed random compression vector, or null for the feature sum.</summary>
    public Tensor? CompressionVector => v;

    /// <summary>1ᵀx (or vᵀx) over the last dimension, keeping it: shape [..., 1].</summary>
    public Tensor Compress(Tensor x) => matmul(x, v ?? ones.For(x)).unsqueeze(-1);

    /// <summary>
    /// y + s·bᵀ as one addmm with inner size 1: its backward is two GEMVs (grad_b = sᵀg, grad_s = g·b) with no
    /// token×d temporaries, which makes 1LoRA cost about what the frozen layer costs (see tests/OneLoRA.Benchmarks).
    /// The sum is written into the base output itself (<c>addmm_</c>): no linear backward reads its own output, and a
    /// second output-sized tensor per layer would otherwise stay alive until the step's dispose scope ends (measured:
    /// +48 % of a ViT block's step memory over a frozen block). A non-contiguous base output (whose reshape would be
    /// a copy) takes the out-of-place path.
    /// </summary>
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput)
    {
        var s = Compress(x).reshape(-1, 1);
        if (!baseOutput.is_contiguous())
            return addmm(baseOutput.reshape(-1, OutFeatures), s, b.view(1, OutFeatures), beta: 1, alpha: 1).view(baseOutput.shape);
        if (baseOutput.dim() == 2)
            return baseOutput.addmm_(s, b.view(1, OutFeatures), beta: 1, alpha: 1);
        baseOutput.view(-1, OutFeatures).addmm_(s, b.view(1, OutFeatures), beta: 1, alpha: 1);
        return baseOutput;
    }

    /// <summary>
    /// The training forward of the generated interceptors: the base linear on the input flattened to 2-D, then
    /// <see cref="Adapt"/>'s addmm_ on that fresh 2-D output, viewed back. The result equals
    /// <c>Adapt(layer, x, layer.forward(x))</c>; the difference is autograd's: libtorch computes a 3-D linear as a 2-D
    /// addmm viewed to 3-D, so an in-place update of the hook's base output is an update of a view, which autograd
    /// records as CopySlices (a clone of the output-sized gradient in every backward). Updating the 2-D output itself
    /// records a plain in-place addmm. Measured on the ViT-Base block: 1LoRA/frozen step 1.09 → 1.02 (docs/benchmarks.md).
    /// A subclass of <see cref="Linear"/> (whose forward may differ) and a non-contiguous input take the general path.
    /// </summary>
    public override Tensor AdaptFromInput(Linear layer, Tensor x)
    {
        if (x.dim() < 3 || !x.is_contiguous() || layer.GetType() != typeof(Linear))
            return Adapt(layer, x, layer.forward(x));
        var flat = x.view(-1, InFeatures);
        var y = nn.functional.linear(flat, layer.weight!, layer.bias);
        y.addmm_(Compress(flat), b.view(1, OutFeatures), beta: 1, alpha: 1);
        var shape = (long[])x.shape.Clone();
        shape[^1] = OutFeatures;
        return y.view(shape);
    }

    /// <summary>ΔW = b·1ᵀ (or b·vᵀ), shape [out, in].</summary>
    public Tensor DeltaWeight() => v is null ? b.unsqueeze(1).expand(OutFeatures, InFeatures) : outer(b, v);

    /// <inheritdoc />
    protected override void MergeInto(Linear layer) => AddInPlace(layer.weight!, DeltaWeight());

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer) => AddInPlace(layer.weight!, DeltaWeight(), alpha: -1);

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("onelora_b", b);
        if (v is not null) yield return ("onelora_v", v);
    }
}
