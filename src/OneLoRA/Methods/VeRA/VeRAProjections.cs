using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace OneLoRA.Methods.VeRA;

/// <summary>
/// VeRA's frozen random projections, shared by every adapter of one attach: <c>A ∈ R^{r×Kmax}</c> and
/// <c>B ∈ R^{Dmax×r}</c>, sized to the largest in/out features over all adapted layers; a layer uses
/// <c>A[:, :k]</c> and <c>B[:d, :]</c>. Drawn as PEFT does (<c>vera/model.py</c>): a CPU generator seeded with
/// <c>projection_prng_key</c>, float32 kaiming-uniform bound √(6/fan_in) (fan_in = Kmax for A, r for B), A first.
/// </summary>
public sealed class VeRAProjections
{
    // Moved once, for all layers, when the model moved: the first adapter to see the new device/dtype moves them.
    private readonly DeviceCache<Tensor> a, b;

    private VeRAProjections(Tensor a, Tensor b, long seed)
    {
        this.a = new DeviceCache<Tensor>(Move, a, a);
        this.b = new DeviceCache<Tensor>(Move, b, b);
        Seed = seed;
    }

    /// <summary>A (r × Kmax): the compression, saved as <c>base_model.vera_A</c>.</summary>
    public Tensor A => a.Current!;

    /// <summary>B (Dmax × r): the decompression, saved as <c>base_model.vera_B</c>.</summary>
    public Tensor B => b.Current!;

    /// <summary>The generator seed (PEFT's <c>projection_prng_key</c>).</summary>
    public long Seed { get; }

    /// <summary>r.</summary>
    public long Rank => A.shape[0];

    /// <summary>Kmax: the widest input among the layers.</summary>
    public long MaxInFeatures => A.shape[1];

    /// <summary>Dmax: the widest output among the layers.</summary>
    public long MaxOutFeatures => B.shape[0];

    /// <summary>Draws the projections for the given layers (at least one), in the first layer's dtype and device.</summary>
    /// <exception cref="ArgumentException">No layers, or rank &lt; 1.</exception>
    public static VeRAProjections Create(IReadOnlyList<TargetLayer> layers, int rank, long seed)
    {
        if (layers.Count == 0) throw new ArgumentException("VeRA needs at least one layer to size its shared projections.", nameof(layers));
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        long kMax = layers.Max(l => l.Layer.in_features);
        long dMax = layers.Max(l => l.Layer.out_features);
        var w = layers[0].Layer.weight!;
        using var generator = new Generator(unchecked((ulong)seed), device: CPU);
        using var scope = NewDisposeScope();
        var a = KaimingUniform(rank, kMax, generator);
        var b = KaimingUniform(dMax, rank, generator);
        return new VeRAProjections(
            a.to(w.dtype, w.device).clone().DetachFromDisposeScope(),
            b.to(w.dtype, w.device).clone().DetachFromDisposeScope(),
            seed);
    }

    /// <summary>The projections on <paramref name="like"/>'s device and dtype.</summary>
    internal (Tensor A, Tensor B) On(Tensor like) => (a.For(like), b.For(like));

    private static Tensor Move(Tensor like, Tensor? old) => old!.to(like.dtype, like.device);

    // PEFT's _kaiming_init: gain √2, bound = √3·gain/√fan_in = √(6/fan_in), fan_in = size(1).
    private static Tensor KaimingUniform(long rows, long cols, Generator generator)
    {
        double bound = Math.Sqrt(6.0 / cols);
        return empty(rows, cols, dtype: ScalarType.Float32, device: CPU).uniform_(-bound, bound, generator);
    }
}
