using System;
using System.Linq;
using FashionVit.Cli;
using FashionVit.Training;
using OneLoRA.Datasets;
using Xunit;
using static TorchSharp.torch;

namespace FashionVit.Tests;

public class TaskDataTests
{
    private static float Standardize(double unit) => (float)((unit - FashionMnist.Mean) / FashionMnist.Std);

    [Fact]
    public void InversionMapsEachPixelToItsComplementInTheStandardizedScale()
    {
        var units = new[] { 0.0, 0.25, 0.5, 1.0 };
        var images = tensor(units.Select(Standardize).ToArray()).reshape(1, 1, 2, 2);
        var inverted = TaskData.Apply(images, DomainShift.Invert).data<float>().ToArray();
        for (int i = 0; i < units.Length; i++)
            Assert.Equal(Standardize(1 - units[i]), inverted[i], 4);
    }

    [Fact]
    public void RotationTurnsImagesACounterClockwiseQuarter()
    {
        // 2×3 image [[0,1,2],[3,4,5]] turned 90° counter-clockwise is 3×2 [[2,5],[1,4],[0,3]].
        var image = arange(6, dtype: ScalarType.Float32).reshape(1, 1, 2, 3);
        var rotated = TaskData.Apply(image, DomainShift.Rotate);
        Assert.Equal(new long[] { 1, 1, 3, 2 }, rotated.shape);
        Assert.Equal(new float[] { 2, 5, 1, 4, 0, 3 }, rotated.data<float>().ToArray());
        Assert.Same(image, TaskData.Apply(image, DomainShift.None));
    }

    [Fact]
    public void MissingDataNamesWhereItLookedAndHowToInstall()
    {
        var missing = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fashionvit-no-data-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<System.IO.FileNotFoundException>(() => TaskData.Load(FashionMnistSplit.Test, missing, [5, 6], DomainShift.None, 0));
        Assert.Contains(missing, e.Message);
        Assert.Contains("sudo apt-get install -y dataset-fashion-mnist", e.Message);
    }
}
