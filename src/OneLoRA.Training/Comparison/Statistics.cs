using System;
using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Training.Comparison;

/// <summary>Mean and sample standard deviation of a few measurements.</summary>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="Std">Sample standard deviation √(Σ(x − mean)² / (n − 1)); NaN for a single value.</param>
/// <param name="Count">Number of values.</param>
public sealed record MeanStd(double Mean, double Std, int Count)
{
    /// <summary>Mean and sample standard deviation (n − 1) of <paramref name="values"/>.</summary>
    /// <exception cref="ArgumentException">No values.</exception>
    public static MeanStd Of(IEnumerable<double> values)
    {
        var list = values.ToList();
        if (list.Count == 0) throw new ArgumentException("Mean and standard deviation of no values.", nameof(values));
        double mean = list.Average();
        double std = list.Count < 2 ? double.NaN : Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1));
        return new MeanStd(mean, std, list.Count);
    }

    /// <summary>"mean ± std" with <paramref name="format"/> applied to both (just the mean for a single value).</summary>
    public string Format(string format, double scale = 1) =>
        double.IsNaN(Std)
            ? (scale * Mean).ToString(format, System.Globalization.CultureInfo.InvariantCulture)
            : (scale * Mean).ToString(format, System.Globalization.CultureInfo.InvariantCulture) + " ± " + (scale * Std).ToString(format, System.Globalization.CultureInfo.InvariantCulture);
}
