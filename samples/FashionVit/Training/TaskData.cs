using System;
using System.Collections.Generic;
using FashionVit.Cli;
using OneLoRA.Datasets;
using OneLoRA.Training;
using static TorchSharp.torch;

namespace FashionVit.Training;

/// <summary>One split of a classification task: images [n, 1, 28, 28] (standardized) and labels 0..classes−1.</summary>
public sealed class TaskData : IDisposable
{
    private TaskData(Tensor images, Tensor labels, IReadOnlyList<int> classes, string directory, string source)
    {
        Images = images;
        Labels = labels;
        Classes = classes;
        Directory = directory;
        Source = source;
    }

    /// <summary>float32 [n, 1, 28, 28].</summary>
    public Tensor Images { get; }

    /// <summary>int64 [n].</summary>
    public Tensor Labels { get; }

    /// <summary>Fashion-MNIST class of each label.</summary>
    public IReadOnlyList<int> Classes { get; }

    /// <summary>Where the files were read from.</summary>
    public string Directory { get; }

    /// <summary>Why that folder: <c>--data</c>, <c>FASHION_MNIST_DIR</c> or <c>default</c>.</summary>
    public string Source { get; }

    /// <summary>"DIR (source)", for the line every run prints about its data.</summary>
    public string Origin => $"{Directory} ({Source})";

    /// <summary>Number of images.</summary>
    public long Count => Labels.shape[0];

    /// <summary>A task from tensors already in memory (the data takes ownership of them).</summary>
    public static TaskData FromTensors(Tensor images, Tensor labels, IReadOnlyList<int> classes) => new(images, labels, classes, "(memory)", "memory");

    /// <summary>The batches the shared training loop reads: images at the indices, moved to <paramref name="device"/>, through <paramref name="model"/>.</summary>
    public IBatchSource Batches(nn.Module<Tensor, Tensor> model, Device device) =>
        new BatchSource(Labels, indices => model.call(Images.index(indices).to(device)));

    /// <summary>
    /// Loads the images of <paramref name="classes"/> from a split, keeps the first <paramref name="limit"/> (0: all),
    /// and applies <paramref name="shift"/>.
    /// </summary>
    /// <exception cref="System.IO.FileNotFoundException">The data set is missing; the message says where it looked and how to install it (see <see cref="FashionMnist.Locate"/>).</exception>
    public static TaskData Load(FashionMnistSplit split, string? dataDirectory, IReadOnlyList<int> classes, DomainShift shift, int limit)
    {
        var data = FashionMnist.Load(split, dataDirectory, classes);
        using var _ = data;
        if ((limit <= 0 || limit >= data.Count) && shift == DomainShift.None)
        {
            // Take the loaded tensors as they are: a copy would raise the peak memory every method is measured by.
            return new TaskData(data.Images.alias(), data.Labels.alias(), data.Classes, data.Directory, data.Source);
        }
        using var scope = NewDisposeScope();
        var images = data.Images;
        var labels = data.Labels;
        if (limit > 0 && limit < data.Count)
        {
            images = images.narrow(0, 0, limit);
            labels = labels.narrow(0, 0, limit);
        }
        images = Apply(images, shift).contiguous();
        return new TaskData(images.clone().MoveToOuterDisposeScope(), labels.clone().MoveToOuterDisposeScope(), data.Classes, data.Directory, data.Source);
    }

    /// <summary>
    /// The shifted images, in the standardized scale: inversion maps pixel p/255 = u to 1 − u, i.e.
    /// x' = (1 − 2·mean)/std − x; rotation turns each image 90° counter-clockwise.
    /// </summary>
    public static Tensor Apply(Tensor standardized, DomainShift shift) => shift switch
    {
        DomainShift.None => standardized,
        DomainShift.Invert => standardized.neg().add_((1 - 2 * FashionMnist.Mean) / FashionMnist.Std),
        DomainShift.Rotate => standardized.rot90(1, (2, 3)),
        _ => throw new ArgumentOutOfRangeException(nameof(shift), shift, "Expected None, Invert or Rotate."),
    };

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
