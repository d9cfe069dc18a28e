using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using OneLoRA.Datasets;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Datasets.Tests;

/// <summary>Writes small idx files the way the Fashion-MNIST distribution does.</summary>
internal static class IdxFiles
{
    public static readonly byte[] SampleLabels = [0, 5, 9, 5, 7, 2];

    public static byte[] Encode(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    /// <summary>Pixel j of image i.</summary>
    public static byte Pixel(int image, int j) => (byte)((image * 31 + j * 7) % 256);

    public static byte[] Pixels(int count, int side = 28) =>
        Enumerable.Range(0, count).SelectMany(i => Enumerable.Range(0, side * side).Select(j => Pixel(i, j))).ToArray();

    public static byte[] Images(int count, int side = 28) => Encode(0x803, [count, side, side], Pixels(count, side));

    public static byte[] Labels(byte[] labels) => Encode(0x801, [labels.Length], labels);

    public static string Write(string directory, string name, byte[] content, bool gzip)
    {
        var path = Path.Combine(directory, gzip ? name + ".gz" : name);
        if (!gzip)
        {
            File.WriteAllBytes(path, content);
            return path;
        }
        using var file = File.Create(path);
        using var zip = new GZipStream(file, CompressionLevel.Fastest);
        zip.Write(content);
        return path;
    }

    /// <summary>A directory with the training split: six 28×28 images labelled <see cref="SampleLabels"/>.</summary>
    public static (string Images, string Labels) WriteTrainSplit(string directory, bool gzip, byte[]? images = null, byte[]? labels = null) =>
        (Write(directory, "train-images-idx3-ubyte", images ?? Images(SampleLabels.Length), gzip),
         Write(directory, "train-labels-idx1-ubyte", labels ?? Labels(SampleLabels), gzip));
}

public sealed class FashionMnistTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private static double Standardized(byte p) => (p / 255.0 - 0.2860406) / 0.3530242;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Loads_plain_and_gzip_files_as_standardized_images_and_int64_labels(bool gzip)
    {
        IdxFiles.WriteTrainSplit(dir.Path, gzip);

        using var data = FashionMnist.Load(FashionMnistSplit.Train, dir.Path);

        Assert.Equal(dir.Path, data.Directory);
        Assert.Equal([6L, 1L, 28L, 28L], data.Images.shape);
        Assert.Equal(ScalarType.Float32, data.Images.dtype);
        Assert.Equal(ScalarType.Int64, data.Labels.dtype);
        Assert.Equal([0L, 5, 9, 5, 7, 2], data.Labels.data<long>().ToArray());
        var pixels = data.Images.data<float>().ToArray();
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 28 * 28; j += 97)
                Assert.Equal(Standardized(IdxFiles.Pixel(i, j)), pixels[i * 784 + j], 5);
        Assert.Equal([1L, 0, 1, 0, 0, 2, 0, 1, 0, 1], data.CountsPerClass());
        Assert.Equal(FashionMnist.ClassNames, data.ClassNames);
    }

    [Fact]
    public void Unit_range_scaling_divides_by_255()
    {
        IdxFiles.WriteTrainSplit(dir.Path, gzip: true);
        using var data = FashionMnist.Load(FashionMnistSplit.Train, dir.Path, scaling: PixelScaling.UnitRange);
        var pixels = data.Images.data<float>().ToArray();
        Assert.Equal(IdxFiles.Pixel(3, 500) / 255.0, pixels[3 * 784 + 500], 6);
        Assert.InRange(data.Images.max().item<float>(), 0.99f, 1f);
        Assert.Equal(0f, data.Images.min().item<float>());
    }

    [Fact]
    public void Class_subset_keeps_those_images_and_relabels_them_from_zero()
    {
        IdxFiles.WriteTrainSplit(dir.Path, gzip: false);

        using var data = FashionMnist.Load(FashionMnistSplit.Train, dir.Path, classes: [5, 6, 7, 8, 9], scaling: PixelScaling.UnitRange);

        // Images 1, 2, 3, 4 have classes 5, 9, 5, 7 → labels 0, 4, 0, 2.
        Assert.Equal([0L, 4, 0, 2], data.Labels.data<long>().ToArray());
        Assert.Equal([5, 6, 7, 8, 9], data.Classes);
        Assert.Equal(["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], data.ClassNames);
        Assert.Equal([2L, 0, 1, 0, 1], data.CountsPerClass());
        var pixels = data.Images.data<float>().ToArray();
        int[] kept = [1, 2, 3, 4];
        for (int n = 0; n < kept.Length; n++)
            Assert.Equal(IdxFiles.Pixel(kept[n], 123) / 255.0, pixels[n * 784 + 123], 6);
    }

    [Fact]
    public void Invalid_class_subsets_are_rejected()
    {
        IdxFiles.WriteTrainSplit(dir.Path, gzip: false);
        Assert.Contains("Class 10 is not a Fashion-MNIST class", Assert.Throws<ArgumentException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path, classes: [1, 10])).Message);
        Assert.Contains("Class 3 appears 2 times", Assert.Throws<ArgumentException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path, classes: [3, 4, 3])).Message);
    }

    [Fact]
    public void Bad_magic_names_the_file_and_both_magics()
    {
        var (images, _) = IdxFiles.WriteTrainSplit(dir.Path, gzip: true, images: IdxFiles.Labels(IdxFiles.SampleLabels));
        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));
        Assert.Equal(images, e.FilePath);
        Assert.Contains(images, e.Message);
        Assert.Contains("magic number 0x00000801 is not that of an idx images file (expected 0x00000803)", e.Message);
    }

    [Fact]
    public void Image_and_label_counts_must_match()
    {
        var (images, labels) = IdxFiles.WriteTrainSplit(dir.Path, gzip: false, labels: IdxFiles.Labels([1, 2, 3, 4, 5]));
        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));
        Assert.Equal(labels, e.FilePath);
        Assert.Contains($"it holds 5 labels but '{images}' holds 6 images", e.Message);
    }

    [Fact]
    public void Truncated_plain_file_names_the_file_and_the_sizes()
    {
        var full = IdxFiles.Images(6);
        var (images, _) = IdxFiles.WriteTrainSplit(dir.Path, gzip: false, images: full[..^100]);
        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));
        Assert.Equal(images, e.FilePath);
        Assert.Contains($"the file is truncated: the 6×28×28 images header needs {full.Length} bytes but the file has {full.Length - 100}", e.Message);
    }

    [Fact]
    public void Truncated_gzip_content_and_cut_gzip_streams_are_reported()
    {
        var (images, _) = IdxFiles.WriteTrainSplit(dir.Path, gzip: true, images: IdxFiles.Images(6)[..^100]);
        var short_ = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));
        Assert.Equal(images, short_.FilePath);
        Assert.Contains($"needs {6 * 784} data bytes but the decompressed data has {6 * 784 - 100}", short_.Message);

        IdxFiles.WriteTrainSplit(dir.Path, gzip: true);
        var compressed = File.ReadAllBytes(images);
        File.WriteAllBytes(images, compressed[..(compressed.Length / 2)]);
        var cut = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));
        Assert.Equal(images, cut.FilePath);
        Assert.Matches("truncated|corrupt", cut.Message);
    }

    [Fact]
    public void Trailing_bytes_are_rejected()
    {
        var (images, _) = IdxFiles.WriteTrainSplit(dir.Path, gzip: false, images: [.. IdxFiles.Images(6), 1, 2, 3]);
        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));
        Assert.Equal(images, e.FilePath);
        Assert.Contains("has 3 bytes after the data", e.Message);
    }

    [Fact]
    public void Labels_outside_the_ten_classes_are_rejected()
    {
        var (_, labels) = IdxFiles.WriteTrainSplit(dir.Path, gzip: false, labels: IdxFiles.Labels([0, 1, 2, 10, 4, 5]));
        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));
        Assert.Equal(labels, e.FilePath);
        Assert.Contains("label 10 at index 3 is not a Fashion-MNIST class", e.Message);
    }

    [Fact]
    public void Images_that_are_not_28_by_28_are_rejected_but_readable_as_idx()
    {
        var (images, _) = IdxFiles.WriteTrainSplit(dir.Path, gzip: false, images: IdxFiles.Images(6, side: 8));
        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));
        Assert.Contains("images are 8×8", e.Message);

        var idx = IdxFile.ReadImages(images);
        Assert.Equal((6, 8, 8), (idx.Count, idx.Rows, idx.Columns));
        Assert.Equal(IdxFiles.Pixels(6, side: 8), idx.Pixels);
    }

    [Theory]
    [InlineData(false, 2_000_000, "truncated")]
    [InlineData(true, 2_000_000, "truncated")]
    [InlineData(true, 5_000_000, "describe more than")]
    public void A_header_claiming_millions_of_images_is_rejected_without_allocating_them(bool gzip, int count, string problem)
    {
        var lying = IdxFiles.Encode(0x803, [count, 28, 28], IdxFiles.Pixels(1));
        var path = IdxFiles.Write(dir.Path, "huge-idx3-ubyte", lying, gzip);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<IdxFormatException>(() => IdxFile.ReadImages(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains(problem, e.Message);
        Assert.True(allocated < 8_000_000, $"Reading the lying header allocated {allocated} bytes.");
    }

    [Fact]
    public void Missing_files_say_where_they_were_looked_for_and_how_to_install_them()
    {
        var missing = Path.Combine(dir.Path, "nowhere");
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(FashionMnistSplit.Test, missing));
        Assert.Contains($"--data {missing}: no such directory", e.Message);
        Assert.Contains("sudo apt-get install -y dataset-fashion-mnist", e.Message);
        Assert.Contains("FASHION_MNIST_DIR", e.Message);
        Assert.DoesNotContain("\n", e.Message);

        IdxFiles.Write(dir.Path, "t10k-images-idx3-ubyte", IdxFiles.Images(2), gzip: true);
        var half = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(FashionMnistSplit.Test, dir.Path));
        Assert.Contains($"--data {dir.Path}: missing t10k-labels-idx1-ubyte[.gz]", half.Message);
        Assert.DoesNotContain("\n", half.Message);
    }
}

/// <summary>Changes a process-wide environment variable: its own collection so no other test runs meanwhile.</summary>
[Collection(nameof(FashionMnistEnvironmentTests))]
[CollectionDefinition(nameof(FashionMnistEnvironmentTests), DisableParallelization = true)]
public sealed class FashionMnistEnvironmentTests : IDisposable
{
    private readonly TempDirectory dir = new();
    private readonly string? saved = Environment.GetEnvironmentVariable(FashionMnist.DirectoryVariable);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, saved);
        dir.Dispose();
    }

    [Fact]
    public void Environment_variable_is_searched_when_no_data_directory_is_given_and_data_directory_wins()
    {
        IdxFiles.WriteTrainSplit(dir.Path, gzip: true);
        Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, dir.Path);

        using (var data = FashionMnist.Load(FashionMnistSplit.Train))
            Assert.Equal(dir.Path, data.Directory);

        var elsewhere = Path.Combine(dir.Path, "explicit");
        Directory.CreateDirectory(elsewhere);
        IdxFiles.WriteTrainSplit(elsewhere, gzip: false, labels: IdxFiles.Labels([1, 1, 1, 1, 1, 1]));
        using (var data = FashionMnist.Load(FashionMnistSplit.Train, elsewhere))
        {
            Assert.Equal(elsewhere, data.Directory);
            Assert.Equal([0L, 6, 0, 0, 0, 0, 0, 0, 0, 0], data.CountsPerClass());
        }
        Assert.Equal((elsewhere, "--data"), FashionMnist.SearchPath(elsewhere));
        Assert.Equal((dir.Path, FashionMnist.DirectoryVariable), FashionMnist.SearchPath(null));
        using (var data = FashionMnist.Load(FashionMnistSplit.Train))
            Assert.Equal(FashionMnist.DirectoryVariable, data.Source);
        Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, null);
        Assert.Equal((FashionMnist.DefaultDirectory, "default"), FashionMnist.SearchPath(null));
    }

    [Fact]
    public void A_wrong_environment_variable_is_an_error_naming_it_and_its_path_never_a_fallback_to_the_default()
    {
        var wrong = Path.Combine(dir.Path, "typo");
        Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, wrong);
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(FashionMnistSplit.Test));
        Assert.StartsWith($"Fashion-MNIST test files not found: FASHION_MNIST_DIR={wrong}: no such directory.", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.Equal((wrong, FashionMnist.DirectoryVariable), FashionMnist.SearchPath(null));

        // A folder that exists but lacks the files is named the same way, even when the default folder has them.
        IdxFiles.Write(dir.Path, "t10k-labels-idx1-ubyte", IdxFiles.Labels(IdxFiles.SampleLabels), gzip: false);
        Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, dir.Path);
        var half = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(FashionMnistSplit.Test));
        Assert.Contains($"FASHION_MNIST_DIR={dir.Path}: missing t10k-images-idx3-ubyte[.gz]", half.Message);
    }
}
