using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace TextClassify.Data;

/// <summary>
/// A text-classification task: its label names (the model's outputs, in order) and the train, validation and test
/// parts of the data (<see cref="DataSplit"/>). From WordNet's noun supersenses by default, or from a TSV file.
/// </summary>
public sealed class TextTask
{
    private readonly Dictionary<string, int> labelIndex;

    private TextTask(string source, bool keysAreLines, IReadOnlyList<string> labels, IReadOnlyList<LabeledText> all)
    {
        Source = source;
        KeysAreLines = keysAreLines;
        Labels = labels;
        labelIndex = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        All = all;
        Train = DataSplit.Select(all, SplitPart.Train);
        Validation = DataSplit.Select(all, SplitPart.Validation);
        Test = DataSplit.Select(all, SplitPart.Test);
    }

    /// <summary>Where the examples came from (a file path).</summary>
    public string Source { get; }

    /// <summary>True when keys are TSV line numbers, false when they are WordNet synset offsets.</summary>
    public bool KeysAreLines { get; }

    /// <summary>The label names; label i is the model's output i.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Every example kept (after the label selection), in file order.</summary>
    public IReadOnlyList<LabeledText> All { get; }

    /// <summary>The 80 % training part.</summary>
    public IReadOnlyList<LabeledText> Train { get; }

    /// <summary>The 10 % validation part.</summary>
    public IReadOnlyList<LabeledText> Validation { get; }

    /// <summary>The 10 % test part.</summary>
    public IReadOnlyList<LabeledText> Test { get; }

    /// <summary>The examples of one part.</summary>
    public IReadOnlyList<LabeledText> Part(SplitPart part) => part switch
    {
        SplitPart.Train => Train,
        SplitPart.Validation => Validation,
        _ => Test,
    };

    /// <summary>"line 12" or "synset 00001740": where an example is in its file.</summary>
    public string Where(LabeledText example) => KeysAreLines ? $"line {example.Key}" : $"synset {example.Key:D8}";

    /// <summary>The model output of each example's label.</summary>
    /// <exception cref="InvalidDataException">An example's label is not one of <see cref="Labels"/>; the message names it and where it is.</exception>
    public long[] LabelIndices(IReadOnlyList<LabeledText> examples)
    {
        var result = new long[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            if (!labelIndex.TryGetValue(examples[i].Label, out var index))
                throw new InvalidDataException(
                    $"{Source} {Where(examples[i])}: label '{examples[i].Label}' is not one of the model's {Labels.Count} labels ({Shorten(Labels)}).");
            result[i] = index;
        }
        return result;
    }

    /// <summary>
    /// Loads the task: WordNet noun supersenses from <paramref name="wordNetPath"/> when <paramref name="tsvPath"/> is
    /// null, else the TSV file. <paramref name="selectLabels"/> (null or empty: all) keeps only those labels' examples.
    /// <paramref name="modelLabels"/>, when given (evaluating a trained model), fixes the label list and order; every
    /// example must carry one of them. Otherwise WordNet's labels keep lexicographer-file order and a TSV's are sorted.
    /// </summary>
    /// <exception cref="FileNotFoundException">The data file is missing (for WordNet: where it looked, how to install it).</exception>
    /// <exception cref="InvalidDataException">A malformed line (named by number), an unknown label, or fewer than two labels.</exception>
    public static TextTask Load(string? tsvPath, string wordNetPath, IReadOnlyList<string>? selectLabels = null, IReadOnlyList<string>? modelLabels = null)
    {
        bool tsv = tsvPath is not null;
        var source = tsv ? tsvPath! : wordNetPath;
        var examples = tsv ? TsvData.Read(tsvPath!) : WordNetNouns.Read(wordNetPath);
        var present = examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).ToList();
        IReadOnlyList<string> labels = tsv ? present.Order(StringComparer.Ordinal).ToList() : WordNetNouns.Supersenses.Where(present.Contains).ToList();
        if (selectLabels is { Count: > 0 })
        {
            var missing = selectLabels.Where(l => !present.Contains(l)).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"--labels: {string.Join(", ", missing.Select(m => $"'{m}'"))} not found in {source}; its labels are {Shorten(labels)}.");
            var keep = new HashSet<string>(selectLabels, StringComparer.Ordinal);
            labels = labels.Where(keep.Contains).ToList();
            examples = examples.Where(e => keep.Contains(e.Label)).ToList();
        }
        if (modelLabels is not null) labels = modelLabels;
        if (labels.Count < 2) throw new InvalidDataException($"{source}: a classification task needs at least two labels, found {labels.Count} ({Shorten(labels)}).");
        var task = new TextTask(source, tsv, labels, examples);
        task.LabelIndices(examples);   // every example's label is a model output
        return task;
    }

    /// <summary>A label list for messages: all of them up to 30, else the first 30 and a count.</summary>
    public static string Shorten(IReadOnlyList<string> labels) =>
        labels.Count <= 30 ? string.Join(", ", labels) : string.Join(", ", labels.Take(30)) + $", … ({labels.Count} in all)";
}
