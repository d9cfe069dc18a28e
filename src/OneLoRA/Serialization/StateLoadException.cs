using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace OneLoRA.Serialization;

/// <summary>A key present in both the model and the file whose shape or element type cannot be loaded.</summary>
/// <param name="Key">The key in the file.</param>
/// <param name="ModelShape">Shape of the model's tensor.</param>
/// <param name="ModelDType">Element type of the model's tensor, as a safetensors dtype name where it has one.</param>
/// <param name="FileShape">Shape stored in the file.</param>
/// <param name="FileDType">Element type stored in the file.</param>
public sealed record TensorMismatch(string Key, IReadOnlyList<long> ModelShape, string ModelDType, IReadOnlyList<long> FileShape, string FileDType)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Key} (model {ModelDType}[{string.Join(", ", ModelShape)}], file {FileDType}[{string.Join(", ", FileShape)}])";
}

/// <summary>
/// A tensor file does not fit the model it is loaded into. Lists every missing, unexpected and mismatched
/// key at once; the model is unchanged when this is thrown.
/// </summary>
public class StateLoadException : Exception
{
    /// <summary>Creates the exception; the message lists every key.</summary>
    /// <param name="filePath">The file being loaded.</param>
    /// <param name="problem">What was being loaded into what, e.g. which method and how many layers.</param>
    /// <param name="missing">Keys the model expects that the file lacks.</param>
    /// <param name="unexpected">Keys in the file the model has no place for.</param>
    /// <param name="mismatched">Keys whose shape or element type does not fit.</param>
    public StateLoadException(string filePath, string problem, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<TensorMismatch> mismatched)
        : base(Describe(filePath, problem, missing, unexpected, mismatched))
    {
        FilePath = filePath;
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
    }

    /// <summary>The file being loaded.</summary>
    public string FilePath { get; }

    /// <summary>Keys the model expects that the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys in the file the model has no place for.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys whose shape or element type does not fit.</summary>
    public IReadOnlyList<TensorMismatch> Mismatched { get; }

    private static string Describe(string filePath, string problem, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<TensorMismatch> mismatched)
    {
        var text = new StringBuilder($"'{filePath}': {problem}");
        Section(text, "missing from the file", missing);
        Section(text, "unexpected in the file", unexpected);
        Section(text, "with a shape or dtype that does not fit", mismatched.Select(m => m.ToString()).ToList());
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
            text.Append("\nNothing was loaded; the model is unchanged.");
        return text.ToString();
    }

    private static void Section(StringBuilder text, string title, IReadOnlyList<string> keys)
    {
        if (keys.Count == 0) return;
        text.Append($"\n{keys.Count} key{(keys.Count == 1 ? "" : "s")} {title}:");
        // The message lists a bounded number of keys (a hostile file may hold 100,000); the properties hold all.
        const int shown = 50;
        foreach (var k in keys.Take(shown)) text.Append("\n  ").Append(k);
        if (keys.Count > shown) text.Append($"\n  … and {keys.Count - shown} more");
    }
}

/// <summary>
/// An adapter directory does not fit the attached adapters: wrong <c>peft_type</c>, unreadable config, or
/// missing, unexpected or mis-shaped tensors (all listed). The model is unchanged when this is thrown.
/// </summary>
public sealed class AdapterLoadException : StateLoadException
{
    /// <summary>Creates the exception for key problems.</summary>
    public AdapterLoadException(string filePath, string problem, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<TensorMismatch> mismatched)
        : base(filePath, problem, missing, unexpected, mismatched) { }

    /// <summary>Creates the exception for a problem with the file as a whole (config, peft_type).</summary>
    public AdapterLoadException(string filePath, string problem)
        : base(filePath, problem, [], [], []) { }
}
