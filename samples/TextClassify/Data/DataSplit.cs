using System;
using System.Collections.Generic;
using System.Linq;

namespace TextClassify.Data;

/// <summary>The three parts of a data set.</summary>
public enum SplitPart
{
    /// <summary>80 %: fine-tuning.</summary>
    Train,
    /// <summary>10 %: held out (not used by the default run; for tuning without touching the test part).</summary>
    Validation,
    /// <summary>10 %: the reported accuracy and macro-F1.</summary>
    Test,
}

/// <summary>
/// The deterministic 80/10/10 split: an example's part depends only on its key (synset offset or TSV line number),
/// through the SplitMix64 finaliser (a fixed bijective 64-bit mix), bucket = mix(key) mod 10: 0–7 train, 8 validation,
/// 9 test. Hashing rather than <c>key mod 10</c> because WordNet's byte offsets and users' line numbers can carry
/// patterns (data.noun is grouped by supersense; a TSV may be sorted); the mix spreads every label over all parts.
/// </summary>
public static class DataSplit
{
    /// <summary>SplitMix64's finaliser (Steele, Lea and Flood 2014): a bijection on 64-bit integers.</summary>
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The part an example with this key belongs to.</summary>
    public static SplitPart PartOf(long key) => (Mix(unchecked((ulong)key)) % 10) switch
    {
        < 8 => SplitPart.Train,
        8 => SplitPart.Validation,
        _ => SplitPart.Test,
    };

    /// <summary>The examples of one part, in their original order.</summary>
    public static IReadOnlyList<LabeledText> Select(IEnumerable<LabeledText> examples, SplitPart part) =>
        examples.Where(e => PartOf(e.Key) == part).ToList();

    /// <summary>
    /// At most <paramref name="limit"/> examples (0: all), chosen without regard to file order: those whose keys have the
    /// smallest value of a second, independent mix, returned in their original order. Deterministic; an honest sample of
    /// a file that is grouped by label.
    /// </summary>
    public static IReadOnlyList<LabeledText> Subset(IReadOnlyList<LabeledText> examples, int limit)
    {
        if (limit < 0) throw new ArgumentOutOfRangeException(nameof(limit), limit, "A limit is 0 (all) or positive.");
        if (limit == 0 || limit >= examples.Count) return examples;
        var chosen = examples.Select((e, i) => (Rank: Mix(unchecked((ulong)e.Key) ^ 0x5DEECE66DUL), Index: i))
            .OrderBy(x => x.Rank).Take(limit).Select(x => x.Index).Order();
        return chosen.Select(i => examples[i]).ToList();
    }
}
