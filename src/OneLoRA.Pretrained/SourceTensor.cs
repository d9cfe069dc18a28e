using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace OneLoRA.Pretrained;

/// <summary>
/// One named tensor of a pretrained checkpoint: its name, dtype and shape are known before any data is read,
/// so every check runs before memory is allocated; <see cref="Read"/> makes a new CPU tensor (the caller disposes it).
/// </summary>
public sealed class SourceTensor
{
    private readonly Func<Tensor> read;

    /// <summary>A tensor named <paramref name="name"/> of <paramref name="dtype"/> and <paramref name="shape"/>, read by <paramref name="read"/>.</summary>
    /// <param name="name">The name in the checkpoint (after ONNX MatMul resolution, before any <see cref="NameMap"/>).</param>
    /// <param name="dtype">Element type of the stored tensor.</param>
    /// <param name="shape">Shape of the stored tensor (after any transposition the reader applies).</param>
    /// <param name="origin">Where it comes from (file, and for ONNX the initializer's own name), for messages.</param>
    /// <param name="read">Makes a new CPU tensor of exactly <paramref name="dtype"/> and <paramref name="shape"/>.</param>
    public SourceTensor(string name, ScalarType dtype, IReadOnlyList<long> shape, string origin, Func<Tensor> read)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Origin = origin;
        this.read = read;
    }

    /// <summary>The tensor's name in the checkpoint.</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public ScalarType DType { get; }

    /// <summary>Shape.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>File (and inner name) it comes from.</summary>
    public string Origin { get; }

    /// <summary>Reads the data into a new CPU tensor (the caller disposes it).</summary>
    public Tensor Read() => read();

    internal static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(",", shape) + "]";
}
