using System;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Multiplies the rows (dimension 0) of a layer tensor by per-row factors in place, and undoes it. Merges of
/// methods that rescale output rows (DoRA's m/n, DiffFit's γ, the TrainScale γ) use it: undo divides by the
/// factors it kept, and rows whose factor was zero are saved beforehand so even they come back exactly.
/// </summary>
internal sealed class RowScaling
{
    private readonly Tensor factor;
    private readonly Tensor? zeroRows;
    private readonly Tensor? savedRows;

    private RowScaling(Tensor factor, Tensor? zeroRows, Tensor? savedRows)
    {
        this.factor = factor;
        this.zeroRows = zeroRows;
        this.savedRows = savedRows;
    }

    /// <summary>Scales row i of <paramref name="target"/> by <paramref name="rowFactor"/>[i] (computed in fp32 at least).</summary>
    /// <exception cref="ArgumentException">The factor is not a vector of target's row count, or holds a non-finite value.</exception>
    public static RowScaling Apply(Tensor target, Tensor rowFactor, string what)
    {
        if (rowFactor.shape is not [var d] || d != target.shape[0])
            throw new ArgumentException(
                $"Row factor for {what} must have shape [{target.shape[0]}], got [{string.Join(", ", rowFactor.shape)}].", nameof(rowFactor));
        var wide = MergePrecision.For(target.dtype);
        // Detached copies outlive any dispose scope: undo needs them after the merge returns.
        var f = rowFactor.detach().to(wide, target.device).clone().DetachFromDisposeScope();
        using var scope = NewDisposeScope();
        if (!isfinite(f).all().item<bool>())
            throw new ArgumentException($"Row factor for {what} holds a non-finite value; the merge would destroy the weights.", nameof(rowFactor));
        var zero = f.eq(0).nonzero().flatten();
        Tensor? zeroRows = null, savedRows = null;
        if (zero.shape[0] > 0)
        {
            zeroRows = zero.DetachFromDisposeScope();
            savedRows = target.index_select(0, zeroRows).clone().DetachFromDisposeScope();
        }
        Multiply(target, f, inverse: false);
        return new RowScaling(f, zeroRows, savedRows);
    }

    /// <summary>Divides the rows back and restores zero-factor rows from their saved copy.</summary>
    public void Undo(Tensor target)
    {
        using (NewDisposeScope())
        {
            Multiply(target, factor, inverse: true);
            if (zeroRows is not null) target.index_copy_(0, zeroRows, savedRows!);
        }
        factor.Dispose();
        zeroRows?.Dispose();
        savedRows?.Dispose();
    }

    private static void Multiply(Tensor target, Tensor f, bool inverse)
    {
        using var scope = NewDisposeScope();
        // Zero factors divide as one: those rows are restored from the saved copy instead.
        var g = inverse ? f.where(f.ne(0), ones_like(f)) : f;
        var shape = new long[target.dim()];
        Array.Fill(shape, 1L);
        shape[0] = target.shape[0];
        g = g.reshape(shape);
        if (target.dtype == g.dtype)
        {
            if (inverse) target.div_(g); else target.mul_(g);
            return;
        }
        var wide = target.to(g.dtype);
        if (inverse) wide.div_(g); else wide.mul_(g);
        target.copy_(wide);
    }

}
