using System;
using Xunit;

namespace OneLoRA.Training.Tests;

public sealed class ClassificationMetricsTests
{
    [Fact]
    public void Macro_f1_matches_scikit_learn_reference_values()
    {
        // sklearn.metrics.f1_score(y_true, y_pred, average="macro"), worked by hand: per-class 2TP/(2TP+FP+FN).
        Assert.Equal(0.26666666666666666, ClassificationMetrics.MacroF1([0, 2, 1, 0, 0, 1], [0, 1, 2, 0, 1, 2]), 12);
        // Class 0: TP 2, FN 1 → 0.8; class 1: TP 1, FP 1 → 2/3.
        Assert.Equal((0.8 + 2.0 / 3) / 2, ClassificationMetrics.MacroF1([0, 0, 1, 1], [0, 0, 0, 1]), 12);
        // A class that is only predicted counts (F1 0), as in scikit-learn's label set (union of y_true and y_pred).
        Assert.Equal((2.0 / 3 + 0) / 2, ClassificationMetrics.MacroF1([0, 1], [0, 0]), 12);
        Assert.Equal(1.0, ClassificationMetrics.MacroF1([3, 1, 2], [3, 1, 2]));
        Assert.Equal(0.0, ClassificationMetrics.MacroF1([], []));
    }

    [Fact]
    public void Macro_f1_weighs_classes_equally_where_accuracy_weighs_examples()
    {
        // 9 of class 0 right, the one example of class 1 wrong: accuracy 0.9, macro-F1 (2·9/19 + 0) / 2.
        long[] labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        long[] predicted = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(0.9, ClassificationMetrics.Accuracy(predicted, labels), 12);
        Assert.Equal(9.0 / 19, ClassificationMetrics.MacroF1(predicted, labels), 12);
    }

    [Fact]
    public void Lengths_must_match()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.MacroF1([0], [0, 1]));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Accuracy([0], []));
    }
}
