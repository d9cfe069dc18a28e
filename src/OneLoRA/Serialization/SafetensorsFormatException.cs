using System;

namespace OneLoRA.Serialization;

/// <summary>
/// A safetensors file breaks the format: bad header length, unparsable or ill-typed header JSON, unknown dtype,
/// offsets that do not tile the data section, or data that ends early. The message names the file, the tensor
/// (when one is at fault) and what was expected.
/// </summary>
public sealed class SafetensorsFormatException : Exception
{
    /// <summary>Creates the exception for a file and, when one is at fault, a tensor.</summary>
    public SafetensorsFormatException(string path, string? tensorName, string problem, Exception? inner = null)
        : base(Describe(path, tensorName, problem), inner)
    {
        FilePath = path;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The file that failed to parse.</summary>
    public string FilePath { get; }

    /// <summary>The tensor whose entry is at fault, or null for a problem with the file as a whole.</summary>
    public string? TensorName { get; }

    /// <summary>The problem alone, without the file and tensor names.</summary>
    public string Problem { get; }

    private static string Describe(string path, string? tensorName, string problem) =>
        tensorName is null
            ? $"Invalid safetensors file '{path}': {problem}"
            : $"Invalid safetensors file '{path}', tensor '{tensorName}': {problem}";
}
