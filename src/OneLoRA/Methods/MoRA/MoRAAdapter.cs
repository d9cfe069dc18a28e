using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.MoRA;

/// <summary>
/// MoRA (Jiang et al. 2024, arXiv:2405.12130; code kongds/MoRA <c>peft-mora/.../lora/layer.py</c>):
/// <c>y = W0·x + β0 + f_d(M·f_c(drop(x)))</c> with one trainable square <c>M ∈ R^{r̂×r̂}</c>, zeros at init.
/// The input is padded by wrap-around to n·r̂ features, n = ⌈k/r̂⌉, <c>x̃_p = x_{p mod k}</c>, and cut into n blocks of r̂.
/// <list type="bullet">
/// <item>Type 1 (sharing, MoRA Eq. 6): <c>c_b = Σ_g x̃_{g·r̂+b}</c>, <c>y = M·c</c>, <c>out_i = y_{i mod r̂}</c>.</item>
/// <item>Type 6 (RoPE, MoRA Eq. 9): block g is rotated at position g, <c>rot_g(v) = v⊙cos φ_g + [−v_{h:}, v_{:h}]⊙sin φ_g</c>,
/// φ_g = g·[θ, θ], θ_j = 10000^(−2j/r̂), h = r̂/2; <c>z^(g) = M·rot_g(x̃^(g))</c>; the n·r̂ outputs are concatenated and
/// cut to d, tiled first when n·r̂ &lt; d (<c>out_i = z_{i mod n·r̂}</c>).</item>
/// </list>
/// Unlike MoRA's own code this works for r̂ &gt; 2k, n = 1 and d &gt; n·r̂, and the merge is the forward's exact ΔW.
/// </summary>
public sealed class MoRAAdapter : LinearAdapter
{
    // Field name is the registered name (TorchSharp's .to() writes back by name).
    private readonly Parameter M;
    // Not Tensor fields: index maps and rotation tables are derived data, never saved, rebuilt per device/dtype.
    private readonly DeviceCache<MoRAMaps> maps;

    /// <param name="layer">The layer to adapt.</param>
    /// <param name="type">1 (sharing) or 6 (RoPE).</param>
    /// <param name="rankHat">r̂ ≥ 1; even for type 6.</param>
    /// <param name="dropout">Input dropout probability in [0, 1), training mode only (MoRA's code applies lora_dropout).</param>
    /// <exception cref="ArgumentException">Unknown type, or r̂ invalid for it.</exception>
    public MoRAAdapter(Linear layer, int type, long rankHat, double dropout = 0) : base("mora", layer)
    {
        if (type is not (1 or 6))
            throw new ArgumentException($"MoRA type must be 1 (sharing) or 6 (RoPE), got {type} (option MoRAType).", nameof(type));
        if (rankHat < 1 || (type == 6 && rankHat % 2 != 0))
            throw new ArgumentException(
                $"MoRA type {type} needs r̂ ≥ 1{(type == 6 ? " and even (RoPE rotates halves)" : "")}, got {rankHat} for a {InFeatures}→{OutFeatures} layer.", nameof(rankHat));
        Type = type;
        RankHat = rankHat;
        Groups = (InFeatures + rankHat - 1) / rankHat;
        Dropout = dropout;
        var w = layer.weight!;
        M = new Parameter(zeros(rankHat, rankHat, dtype: w.dtype, device: w.device));
        maps = new DeviceCache<MoRAMaps>((like, _) => MoRAMaps.Create(InFeatures, OutFeatures, Type, RankHat, Groups, like));
        RegisterComponents();
    }

    /// <summary>1 (sharing) or 6 (RoPE).</summary>
    public int Type { get; }

    /// <summary>r̂: the side of M.</summary>
    public long RankHat { get; }

    /// <summary>n = ⌈k/r̂⌉: the number of r̂-blocks of the padded input.</summary>
    public long Groups { get; }

    /// <summary>Input dropout probability.</summary>
    public double Dropout { get; }

    /// <summary>The trainable square matrix M (r̂ × r̂), zeros at init.</summary>
    public Parameter Matrix => M;

    /// <summary>
    /// r̂ for a layer: <see cref="MoRARankRule.Paper"/> round(√d) (the 1LoRA paper's comparison, about d parameters; MoRA's code
    /// rounds the same way, <c>int(sqrt(·) + 0.5)</c>), <see cref="MoRARankRule.MoRA"/> round(√((k+d)·r)) (MoRA's code) or
    /// <see cref="MoRARankRule.Floor"/> ⌊√d⌋; type 6 then takes the even 2⌊r̂/2⌋. At least 1 (2 for type 6).
    /// </summary>
    public static long RankHatFor(long inFeatures, long outFeatures, int type, MoRARankRule rule, int rank)
    {
        long r = rule switch
        {
            MoRARankRule.Paper => RoundSqrt(outFeatures),
            MoRARankRule.MoRA => (long)(Math.Sqrt((double)(inFeatures + outFeatures) * rank) + 0.5),
            MoRARankRule.Floor => FloorSqrt(outFeatures),
            _ => throw new ArgumentException($"Unknown MoRA rank rule {rule} (option MoRARankRule); expected Paper, MoRA or Floor.", nameof(rule)),
        };
        return type == 6 ? Math.Max(2, 2 * (r / 2)) : Math.Max(1, r);
    }

    /// <inheritdoc />
    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput)
    {
        var h = DropInput(x, Dropout);
        var maps = this.maps.For(M);
        var padded = maps.Pad is null ? h : h.index_select(-1, maps.Pad);
        var lead = h.shape[..^1];
        var blocks = padded.reshape([.. lead, Groups, RankHat]);
        Tensor y;
        if (Type == 1)
        {
            y = nn.functional.linear(blocks.sum(-2), M);
        }
        else
        {
            var rotated = blocks.mul(maps.Cos!).add_(RotateHalf(blocks).mul_(maps.Sin!));
            y = nn.functional.linear(rotated, M).reshape([.. lead, Groups * RankHat]);
        }
        return baseOutput.add(Decompress(y, maps));
    }

    /// <summary>ΔW (out × in) such that the adapter's contribution is ΔW·x, built from M directly, in fp32 at least.</summary>
    public Tensor DeltaWeight()
    {
        using var scope = NewDisposeScope();
        var m = MergePrecision.Widen(M);
        long n = Groups, r = RankHat, k = InFeatures, padded = n * r;
        var column = arange(padded, dtype: ScalarType.Int64, device: m.device).remainder(k);
        Tensor compressed;
        if (Type == 1)
        {
            // y_a = Σ_p M[a, p mod r̂]·x_{p mod k}: fold the n copies of M onto the input columns they read.
            compressed = zeros(r, k, dtype: m.dtype, device: m.device).index_add_(1, column, m.repeat(1, n), 1);
        }
        else
        {
            // z_{g·r̂+a} = Σ_b (M·R_g)[a, b]·x_{(g·r̂+b) mod k}, R_g = diag(cos φ_g) + diag(sin φ_g)·J.
            using var maps = MoRAMaps.Create(InFeatures, OutFeatures, Type, RankHat, Groups, m);
            var blocks = m.matmul(Rotations(maps, m));
            var index = column.reshape(n, 1, r).expand(n, r, r);
            compressed = zeros(n, r, k, dtype: m.dtype, device: m.device).scatter_add_(2, index, blocks).reshape(padded, k);
        }
        long rows = compressed.shape[0];
        var delta = OutFeatures <= rows
            ? compressed.narrow(0, 0, OutFeatures)
            : compressed.index_select(0, arange(OutFeatures, dtype: ScalarType.Int64, device: m.device).remainder(rows));
        return delta.contiguous().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void MergeInto(Linear layer) => AddInPlace(layer.weight!, DeltaWeight());

    /// <inheritdoc />
    protected override void UnmergeFrom(Linear layer) => AddInPlace(layer.weight!, DeltaWeight(), alpha: -1);

    /// <inheritdoc />
    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("mora_M", M);
    }

    private Tensor Decompress(Tensor y, MoRAMaps maps)
    {
        long count = y.shape[^1];
        if (OutFeatures == count) return y;
        return OutFeatures < count ? y.narrow(-1, 0, OutFeatures) : y.index_select(-1, maps.Tile!);
    }

    private Tensor RotateHalf(Tensor v)
    {
        long half = RankHat / 2;
        return cat([v.narrow(-1, half, half).neg(), v.narrow(-1, 0, half)], -1);
    }

    // (n, r̂, r̂): R_g v = v⊙cos φ_g + J v⊙sin φ_g with (J v) = [−v_{h:}, v_{:h}].
    private Tensor Rotations(MoRAMaps maps, Tensor like)
    {
        long r = RankHat, half = r / 2;
        var j = zeros(r, r, dtype: like.dtype, device: like.device);
        var top = arange(half, dtype: ScalarType.Int64, device: like.device);
        j.index_put_(tensor(-1.0, dtype: like.dtype, device: like.device), top, top.add(half));
        j.index_put_(tensor(1.0, dtype: like.dtype, device: like.device), top.add(half), top);
        return diag_embed(maps.Cos!).add(diag_embed(maps.Sin!).matmul(j));
    }

    private static long FloorSqrt(long v)
    {
        long s = (long)Math.Sqrt(v);
        while (s * s > v) s--;
        while ((s + 1) * (s + 1) <= v) s++;
        return s;
    }

    // Exact round(√v), halves up: with s = ⌊√v⌋, √v ≥ s + ½ ⇔ v ≥ s² + s + ¼ ⇔ v ≥ s² + s + 1 for integer v.
    private static long RoundSqrt(long v)
    {
        long s = FloorSqrt(v);
        return v - s * s > s ? s + 1 : s;
    }
}

/// <summary>MoRA's fixed maps for one layer on one device/dtype (kept in a <see cref="DeviceCache{T}"/>): wrap-around pad index, output tile index, RoPE tables.</summary>
internal sealed class MoRAMaps : IDisposable
{
    private MoRAMaps(Tensor? pad, Tensor? tile, Tensor? cos, Tensor? sin)
    {
        Pad = pad;
        Tile = tile;
        Cos = cos;
        Sin = sin;
    }

    /// <summary>p ↦ p mod k over the padded width n·r̂; null when k = n·r̂.</summary>
    public Tensor? Pad { get; }

    /// <summary>i ↦ i mod (outputs) for i &lt; d; null when d ≤ the outputs of M (r̂ for type 1, n·r̂ for type 6).</summary>
    public Tensor? Tile { get; }

    /// <summary>cos φ_g per block (n × r̂), type 6 only.</summary>
    public Tensor? Cos { get; }

    /// <summary>sin φ_g per block (n × r̂), type 6 only.</summary>
    public Tensor? Sin { get; }

    public static MoRAMaps Create(long k, long d, int type, long r, long n, Tensor like)
    {
        var device = like.device;
        using var scope = NewDisposeScope();
        long padded = n * r;
        var pad = padded == k ? null : arange(padded, dtype: ScalarType.Int64, device: device).remainder(k);
        long outputs = type == 1 ? r : padded;
        var tile = d <= outputs ? null : arange(d, dtype: ScalarType.Int64, device: device).remainder(outputs);
        Tensor? cos = null, sin = null;
        if (type == 6)
        {
            // Tables in float64, then cast: θ_j = 10000^(−2j/r̂), φ_g = g·[θ, θ].
            var theta = pow(10000.0, arange(0, r, 2, dtype: ScalarType.Float64).div(r).neg());
            var freqs = outer(arange(n, dtype: ScalarType.Float64), theta);
            var angles = cat([freqs, freqs], -1);
            cos = angles.cos().to(like.dtype, device).DetachFromDisposeScope();
            sin = angles.sin().to(like.dtype, device).DetachFromDisposeScope();
        }
        return new MoRAMaps(pad?.DetachFromDisposeScope(), tile?.DetachFromDisposeScope(), cos, sin);
    }

    public void Dispose()
    {
        Pad?.Dispose();
        Tile?.Dispose();
        Cos?.Dispose();
        Sin?.Dispose();
    }
}
