using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using static TorchSharp.torch;

namespace OneLoRA.Datasets;

/// <summary>Which half of Fashion-MNIST: 60,000 training or 10,000 test images.</summary>
public enum FashionMnistSplit
{
    /// <summary><c>train-*-ubyte</c>: 60,000 images.</summary>
    Train,

    /// <summary><c>t10k-*-ubyte</c>: 10,000 images.</summary>
    Test,
}

/// <summary>How pixel bytes become floats.</summary>
public enum PixelScaling
{
    /// <summary>(p/255 − <see cref="FashionMnist.Mean"/>) / <see cref="FashionMnist.Std"/>: zero mean, unit variance on the training set.</summary>
    Standardized,

    /// <summary>p/255 in [0, 1].</summary>
    UnitRange,
}

/// <summary>A loaded split: images, labels (remapped when a class subset was asked for) and where they came from.</summary>
public sealed class FashionMnistData : IDisposable
{
    internal FashionMnistData(FashionMnistSplit split, string directory, string source, Tensor images, Tensor labels, IReadOnlyList<int> classes)
    {
        Split = split;
        Directory = directory;
        Source = source;
        Images = images;
        Labels = labels;
        Classes = classes;
    }

    /// <summary>The split.</summary>
    public FashionMnistSplit Split { get; }

    /// <summary>The directory the files were read from.</summary>
    public string Directory { get; }

    /// <summary>Where that directory came from: <c>--data</c>, <see cref="FashionMnist.DirectoryVariable"/> or <c>default</c>.</summary>
    public string Source { get; }

    /// <summary>float32 images, shape [n, 1, 28, 28], scaled as asked.</summary>
    public Tensor Images { get; }

    /// <summary>int64 labels, shape [n], in 0..<see cref="Classes"/>.Count−1.</summary>
    public Tensor Labels { get; }

    /// <summary>The original Fashion-MNIST class of each label: label i means class <c>Classes[i]</c>.</summary>
    public IReadOnlyList<int> Classes { get; }

    /// <summary>Names of the labels, in label order.</summary>
    public IReadOnlyList<string> ClassNames => Classes.Select(c => FashionMnist.ClassNames[c]).ToList();

    /// <summary>Number of images.</summary>
    public long Count => Labels.shape[0];

    /// <summary>How many images carry each label.</summary>
    public long[] CountsPerClass()
    {
        using var counts = Labels.bincount(null, Classes.Count);
        return counts.data<long>().ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Fashion-MNIST (Xiao et al., 2017) from its four idx files, plain or gzip
/// (<c>train-images-idx3-ubyte[.gz]</c>, <c>train-labels-idx1-ubyte[.gz]</c>, <c>t10k-…</c>). Looks in one directory:
/// the one passed in (a <c>--data DIR</c> option), else <c>$FASHION_MNIST_DIR</c> when set, else
/// <see cref="DefaultDirectory"/> (where Debian's <c>dataset-fashion-mnist</c> package installs them). A directory that
/// was asked for is never silently replaced by another.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where <c>apt-get install dataset-fashion-mnist</c> puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Environment variable naming a directory with the files.</summary>
    public const string DirectoryVariable = "FASHION_MNIST_DIR";

    /// <summary>Mean pixel value (p/255) over the 60,000 training images.</summary>
    public const double Mean = 0.2860406;

    /// <summary>Standard deviation of p/255 over the 60,000 training images.</summary>
    public const double Std = 0.3530242;

    /// <summary>Image side in pixels.</summary>
    public const int ImageSize = 28;

    /// <summary>The ten class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>How to get the files, for error messages and help text.</summary>
    public const string InstallHint =
        "Install them with `sudo apt-get install -y dataset-fashion-mnist` (Debian/Ubuntu; puts them in " + DefaultDirectory +
        "), or download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist and pass --data DIR or set " +
        DirectoryVariable + ".";

    /// <summary>Base names (without <c>.gz</c>) of a split's images and labels files.</summary>
    public static (string Images, string Labels) FileNames(FashionMnistSplit split) => split switch
    {
        FashionMnistSplit.Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        FashionMnistSplit.Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, "Expected Train or Test."),
    };

    /// <summary>
    /// The directory searched, with where it came from: <paramref name="dataDirectory"/> when given (<c>--data</c>),
    /// else <c>$FASHION_MNIST_DIR</c> when set, else the default. Only one: an explicit choice is never silently
    /// replaced by the default, so a typo is an error naming it.
    /// </summary>
    public static (string Directory, string Source) SearchPath(string? dataDirectory)
    {
        if (!string.IsNullOrWhiteSpace(dataDirectory)) return (dataDirectory, "--data");
        var fromEnvironment = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment)) return (fromEnvironment, DirectoryVariable);
        return (DefaultDirectory, "default");
    }

    /// <summary>
    /// Finds a split's two files in the directory of <see cref="SearchPath"/> (each as <c>name</c> or <c>name.gz</c>;
    /// the plain file wins when both exist).
    /// </summary>
    /// <exception cref="FileNotFoundException">The directory is missing or lacks a file; the one-line message names the
    /// directory, where it came from (e.g. <c>FASHION_MNIST_DIR=/x</c>) and how to install the files.</exception>
    public static (string Directory, string Source, string Images, string Labels) Locate(FashionMnistSplit split, string? dataDirectory = null)
    {
        var (images, labels) = FileNames(split);
        var (directory, source) = SearchPath(dataDirectory);
        var named = source switch
        {
            "--data" => $"--data {directory}",
            DirectoryVariable => $"{DirectoryVariable}={directory}",
            _ => $"{directory} (the default folder)",
        };
        if (!System.IO.Directory.Exists(directory))
            throw new FileNotFoundException($"Fashion-MNIST {Describe(split)} files not found: {named}: no such directory. {InstallHint}");
        var imagesFile = Find(directory, images);
        var labelsFile = Find(directory, labels);
        if (imagesFile is null || labelsFile is null)
        {
            var missing = new[] { (imagesFile, images), (labelsFile, labels) }.Where(f => f.Item1 is null).Select(f => $"{f.Item2}[.gz]");
            throw new FileNotFoundException(
                $"Fashion-MNIST {Describe(split)} files not found: {named}: missing {string.Join(" and ", missing)}. {InstallHint}",
                Path.Combine(directory, imagesFile is null ? images : labels));
        }
        return (directory, source, imagesFile, labelsFile);
    }

    private static string Describe(FashionMnistSplit split) => split.ToString().ToLowerInvariant();

    /// <summary>
    /// Loads a split as tensors: images float32 [n, 1, 28, 28], labels int64 [n]. With <paramref name="classes"/>,
    /// keeps only images of those classes (in file order) and relabels class <c>classes[i]</c> as i
    /// (e.g. 5..9 → 0..4).
    /// </summary>
    /// <param name="split">Train or test.</param>
    /// <param name="dataDirectory">The <c>--data</c> directory; null to use the environment variable, else the default.</param>
    /// <param name="classes">Distinct classes in 0..9 to keep, in label order; null for all ten.</param>
    /// <param name="scaling">Pixel scaling; standardized by default.</param>
    /// <exception cref="FileNotFoundException">Files not found (see <see cref="Locate"/>).</exception>
    /// <exception cref="IdxFormatException">A file is corrupt, truncated, not 28×28, a label is out of range, or the counts of images and labels differ.</exception>
    /// <exception cref="ArgumentException">A class is out of range or repeated.</exception>
    public static FashionMnistData Load(FashionMnistSplit split, string? dataDirectory = null, IReadOnlyList<int>? classes = null, PixelScaling scaling = PixelScaling.Standardized)
    {
        var keep = CheckClasses(classes);
        var (directory, source, imagesPath, labelsPath) = Locate(split, dataDirectory);
        var images = IdxFile.ReadImages(imagesPath);
        if (images.Rows != ImageSize || images.Columns != ImageSize)
            throw new IdxFormatException(imagesPath, $"images are {images.Rows}×{images.Columns}; Fashion-MNIST images are {ImageSize}×{ImageSize}.");
        var labels = IdxFile.ReadLabels(labelsPath);
        if (labels.Length != images.Count)
            throw new IdxFormatException(labelsPath, $"it holds {labels.Length} labels but '{imagesPath}' holds {images.Count} images; the counts must match.");

        var remap = Enumerable.Repeat(-1, ClassNames.Count).ToArray();
        for (int i = 0; i < keep.Count; i++) remap[keep[i]] = i;
        var selected = new List<int>(labels.Length);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ClassNames.Count)
                throw new IdxFormatException(labelsPath, $"label {labels[i]} at index {i} is not a Fashion-MNIST class (0..{ClassNames.Count - 1}).");
            if (remap[labels[i]] >= 0) selected.Add(i);
        }
        return new FashionMnistData(split, directory, source, ImagesTensor(images, selected, scaling), LabelsTensor(labels, selected, remap), keep);
    }

    private static string? Find(string directory, string name)
    {
        var plain = Path.Combine(directory, name);
        if (File.Exists(plain)) return plain;
        var gzip = plain + ".gz";
        return File.Exists(gzip) ? gzip : null;
    }

    private static List<int> CheckClasses(IReadOnlyList<int>? classes)
    {
        if (classes is null) return Enumerable.Range(0, ClassNames.Count).ToList();
        if (classes.Count == 0)
            throw new ArgumentException("The class subset is empty; pass null for all ten classes.", nameof(classes));
        foreach (var c in classes)
            if (c < 0 || c >= ClassNames.Count)
                throw new ArgumentException($"Class {c} is not a Fashion-MNIST class (0..{ClassNames.Count - 1}).", nameof(classes));
        var repeated = classes.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"Class {repeated.Key} appears {repeated.Count()} times in the class subset.", nameof(classes));
        return classes.ToList();
    }

    private static Tensor ImagesTensor(IdxImages images, List<int> selected, PixelScaling scaling)
    {
        const int pixels = ImageSize * ImageSize;
        var bytes = new byte[(long)selected.Count * pixels];
        for (int i = 0; i < selected.Count; i++)
            Array.Copy(images.Pixels, (long)selected[i] * pixels, bytes, (long)i * pixels, pixels);
        using var scope = NewDisposeScope();
        var raw = empty([selected.Count, 1, ImageSize, ImageSize], ScalarType.Byte);
        if (bytes.Length > 0) raw.bytes = bytes;
        var result = raw.to(ScalarType.Float32).div_(255.0);
        if (scaling == PixelScaling.Standardized)
            result.sub_(Mean).div_(Std);
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor LabelsTensor(byte[] labels, List<int> selected, int[] remap)
    {
        var values = new long[selected.Count];
        for (int i = 0; i < values.Length; i++) values[i] = remap[labels[selected[i]]];
        return tensor(values, ScalarType.Int64);
    }
}
