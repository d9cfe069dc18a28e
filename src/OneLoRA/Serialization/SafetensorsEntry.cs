using System.Collections.Generic;
using static TorchSharp.torch;

namespace OneLoRA.Serialization;

/// <summary>One tensor's entry in a validated safetensors header.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">The dtype as written in the file, e.g. <c>F32</c>.</param>
/// <param name="ScalarType">The TorchSharp element type of <paramref name="DType"/>.</param>
/// <param name="Shape">The tensor's shape (empty for a scalar).</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
public sealed record SafetensorsEntry(string Name, string DType, ScalarType ScalarType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>Number of data bytes (<c>End − Begin</c>).</summary>
    public long ByteLength => End - Begin;

    /// <summary>The shape as an array, as TorchSharp factories take it.</summary>
    public long[] ShapeArray() => [.. Shape];
}
