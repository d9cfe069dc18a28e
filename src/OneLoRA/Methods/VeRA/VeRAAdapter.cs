using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.VeRA;

/// <summary>
/// VeRA (Kopiczko et al. 2024, arXiv:2310.11454; HF PEFT <c>tuners/vera/layer.py</c>):
/// <c>y = W0·x + β0 + λ_b ⊙ B_s·(λ_d ⊙ A_s·drop(x))</c> with the shared frozen projections sliced to this layer,
/// <c>A_s = A[:, :k]</c>, <c>B_s = B[:d, :]</c> (<see cref="VeRAProjections"/>). Trainable: <c>λ_b ∈ R^d</c> zeros
/// (so the start is the base model) and <c>λ_d ∈ R^r</c> = d_initial. ΔW = (λ_b·B_s)(λ_d·A_s).
/// </summary>
public sealed class VeRAAdapter : LinearAdapter
{
    // Field names are the registered names (TorchSharp's .to() writes back by name).
    private readonly Parameter lambda_b;
    private readonly Parameter lambda_d;
    // Not a Tensor field: shared across adapters, so it must not be registered (or moved) per layer.
    private readonly VeRAProjections projections;

    /// <param name="layer">The layer to adapt.</param>
    /// <param name="projections">The attach's shared projections; must cover this layer's sizes.</param>
    /// <param name="dInitial">Initial value of every entry of λ_d.</param>
    /// <param name="dropout">Adapter-branch dropout probability in [0, 1).</param>
    /// <exception cref="ArgumentException">The projections are smaller than the layer.</exception>
    public VeRAAdapter(Linear layer, VeRAProjections projections, double dInitial = 0.1, double dropout = 0) : base("vera", layer)
    {
        ArgumentNullException.ThrowIfNull(projections);
        if (projections.MaxInFeatures < InFeatures || projections.MaxOutFeatures < OutFeatures)
            throw new ArgumentException(
                $"VeRA projections are {projections.MaxOutFeatures}×{projections.Rank} / {projections.Rank}×{projections.MaxInFeatures}, " +
                $"too small for a {InFeatures}→{OutFeatures} layer; create them over all layers of the attach.", nameof(projections));
        this.projections = projections;
        Dropout = dropout;
        var w = layer.weight!;
        lambda_b = new Parameter(zeros(OutFeatures, dtype: w.dtype, device: w.device));
        lambda_d = new Parameter(full(projections.Rank, dInitial, dtype: w.dtype, device: w.device));
        RegisterComponents();
    }

    /// <summary>The shared projections.</summary>
    public VeRAProjections Projections => projections;

    /// <summary>Adapter-branch dropout probability.</summary>
    public double Dropout { get; }

    /// <summary>λ_b (out_features), zeros at init.</summary>
    public Parameter LambdaB => lambda_b;

    /// <summary>λ_d (r), d_initial at init.</summary>
    public Parameter LambdaD => lambda_d;

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput)
    {
        var (a, b) = projections.On(lambda_d);
        var h = DropInput(x, Dropout);
        var inner = nn.functional.linear(h, a.narrow(1, 0, InFeatures)).mul(lambda_d);
        return baseOutput.add(nn.functional.linear(inner, b.narrow(0, 0, OutFeatures)).mul(lambda_b));
    }

    /// <summary>ΔW = (λ_b[:, None]·B_s) @ (λ_d[:, None]·A_s), out × in, in fp32 at least.</summary>
    public Tensor DeltaWeight()
    {
        var (a, b) = projections.On(lambda_d);
        using var scope = NewDisposeScope();
        var left = MergePrecision.Widen(b.narrow(0, 0, OutFeatures)).mul(MergePrecision.Widen(lambda_b).unsqueeze(1));
        var right = MergePrecision.Widen(a.narrow(1, 0, InFeatures)).mul(MergePrecision.Widen(lambda_d).unsqueeze(1));
        return left.matmul(right).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void MergeInto(Linear layer) => AddInPlace(layer.weight!, DeltaWeight());

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer) => AddInPlace(layer.weight!, DeltaWeight(), alpha: -1);

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("vera_lambda_b", lambda_b);
        yield return ("vera_lambda_d", lambda_d);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> SharedTensors()
    {
        yield return ("vera_A", projections.A);
        yield return ("vera_B", projections.B);
    }
}
