using System;
using static TorchSharp.torch;

namespace OneLoRA.Training;

/// <summary>
/// Labelled examples that the loop reads by index. The inputs stay with the job (images, token ids with an attention
/// mask, …): the job turns a batch of indices into the model's logits, so the loop never sees an input tensor.
/// </summary>
public interface IBatchSource
{
    /// <summary>Number of examples.</summary>
    long Count { get; }

    /// <summary>Class labels, int64 [<see cref="Count"/>] on the CPU.</summary>
    Tensor Labels { get; }

    /// <summary>
    /// The model's logits [b, classes] for the examples at <paramref name="indices"/> (int64 [b] on the CPU), on the
    /// model's device. Called inside the loop's dispose scope, so temporaries need no disposing.
    /// </summary>
    Tensor Logits(Tensor indices);
}

/// <summary>An <see cref="IBatchSource"/> from labels and a function from indices to logits.</summary>
/// <param name="labels">int64 [n] on the CPU; owned by the caller.</param>
/// <param name="logits">Indices (int64 [b], CPU) to logits [b, classes].</param>
public sealed class BatchSource(Tensor labels, Func<Tensor, Tensor> logits) : IBatchSource
{
    /// <inheritdoc />
    public long Count => labels.shape[0];

    /// <inheritdoc />
    public Tensor Labels => labels;

    /// <inheritdoc />
    public Tensor Logits(Tensor indices) => logits(indices);
}
