using System;
using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Training;

/// <summary>Accuracy and macro-F1 from predicted and true class labels.</summary>
public static class ClassificationMetrics
{
    /// <summary>Fraction of predictions equal to their label; 0 for no examples.</summary>
    public static double Accuracy(IReadOnlyList<long> predictions, IReadOnlyList<long> labels)
    {
        CheckLengths(predictions, labels);
        if (labels.Count == 0) return 0;
        long correct = 0;
        for (int i = 0; i < labels.Count; i++) if (predictions[i] == labels[i]) correct++;
        return (double)correct / labels.Count;
    }

    /// <summary>
    /// Unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN), over the classes that occur as a label or a
    /// prediction (scikit-learn's <c>f1_score(average="macro")</c>); 0 for no examples.
    /// </summary>
    public static double MacroF1(IReadOnlyList<long> predictions, IReadOnlyList<long> labels)
    {
        CheckLengths(predictions, labels);
        var counts = new SortedDictionary<long, (long TruePositives, long FalsePositives, long FalseNegatives)>();
        for (int i = 0; i < labels.Count; i++)
        {
            long predicted = predictions[i], actual = labels[i];
            var p = counts.GetValueOrDefault(predicted);
            if (predicted == actual)
            {
                counts[predicted] = (p.TruePositives + 1, p.FalsePositives, p.FalseNegatives);
                continue;
            }
            counts[predicted] = (p.TruePositives, p.FalsePositives + 1, p.FalseNegatives);
            var a = counts.GetValueOrDefault(actual);
            counts[actual] = (a.TruePositives, a.FalsePositives, a.FalseNegatives + 1);
        }
        if (counts.Count == 0) return 0;
        return counts.Values.Average(c => 2.0 * c.TruePositives / (2.0 * c.TruePositives + c.FalsePositives + c.FalseNegatives));
    }

    private static void CheckLengths(IReadOnlyList<long> predictions, IReadOnlyList<long> labels)
    {
        if (predictions.Count != labels.Count)
            throw new ArgumentException($"{predictions.Count} predictions for {labels.Count} labels; expected one per label.", nameof(predictions));
    }
}
