using System;
using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Training.Comparison;

/// <summary>One fine-tuning run of a comparison: a method with a seed, and its place in the schedule.</summary>
/// <param name="Number">1-based position in the schedule.</param>
/// <param name="Total">Runs in the schedule.</param>
/// <param name="MethodIndex">Index of the method in the comparison's method list.</param>
/// <param name="SeedIndex">Index of the seed in the seed list.</param>
/// <param name="Seed">The fine-tuning seed.</param>
public sealed record ComparisonRun(int Number, int Total, int MethodIndex, int SeedIndex, int Seed);

/// <summary>The order of a comparison's runs.</summary>
public static class ComparisonSchedule
{
    /// <summary>
    /// Every method × seed, interleaved so that the machine's load falls alike on every method: seed by seed, and
    /// within a seed one run of each method (round robin), the round starting one method later for each seed so that
    /// no method is always first (right after the pretraining or data preparation) or always last.
    /// </summary>
    /// <param name="methods">Number of methods (≥ 1).</param>
    /// <param name="seeds">The seeds, in order (at least one).</param>
    /// <exception cref="ArgumentException">No methods or no seeds.</exception>
    public static IReadOnlyList<ComparisonRun> Interleaved(int methods, IReadOnlyList<int> seeds)
    {
        if (methods < 1) throw new ArgumentException("A comparison needs at least one method.", nameof(methods));
        if (seeds.Count < 1) throw new ArgumentException("A comparison needs at least one seed.", nameof(seeds));
        int total = methods * seeds.Count, number = 0;
        var runs = new List<ComparisonRun>(total);
        for (int s = 0; s < seeds.Count; s++)
            for (int k = 0; k < methods; k++)
                runs.Add(new ComparisonRun(++number, total, (s + k) % methods, s, seeds[s]));
        return runs;
    }

    /// <summary>The seeds of <c>--seeds N</c>: <paramref name="first"/>, first + 1, …, first + N − 1.</summary>
    /// <exception cref="Cli.OptionException">N is below 1.</exception>
    public static IReadOnlyList<int> Seeds(int count, int first)
    {
        if (count < 1) throw new Cli.OptionException($"--seeds {count}: give at least 1 (the paper uses 4).");
        return Enumerable.Range(0, count).Select(i => first + i).ToList();
    }
}
