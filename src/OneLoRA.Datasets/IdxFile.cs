using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace OneLoRA.Datasets;

/// <summary>An idx file (plain or gzip) whose content breaks the format; the message names the file.</summary>
public sealed class IdxFormatException : IOException
{
    /// <summary>Creates the exception for a file.</summary>
    public IdxFormatException(string path, string problem, Exception? inner = null)
        : base($"Invalid idx file '{path}': {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }
}

/// <summary>Images of an idx3 file: <see cref="Count"/> images of <see cref="Rows"/>×<see cref="Columns"/> bytes, row-major.</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Image height.</param>
/// <param name="Columns">Image width.</param>
/// <param name="Pixels">Count·Rows·Columns bytes.</param>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>
/// Reads LeCun's idx format (MNIST, Fashion-MNIST): a big-endian magic <c>0x0000TTDD</c> (TT = element type,
/// 0x08 for unsigned bytes; DD = number of dimensions), DD big-endian int32 sizes, then the data. Files may be
/// gzip-compressed (detected from the gzip signature, whatever the name). Sizes are checked against the file
/// before the data is allocated; for gzip, the buffer grows only as decompressed data actually arrives.
/// </summary>
public static class IdxFile
{
    /// <summary>Magic of an unsigned-byte 3-d file (images [n, rows, cols]).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic of an unsigned-byte 1-d file (labels [n]).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an images file (magic <c>0x00000803</c>).</summary>
    /// <exception cref="IdxFormatException">Wrong magic, truncated, trailing data or corrupt gzip.</exception>
    public static IdxImages ReadImages(string path)
    {
        var (dims, data) = Read(path, ImagesMagic, "images");
        return new IdxImages(dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads a labels file (magic <c>0x00000801</c>): one byte per label.</summary>
    /// <exception cref="IdxFormatException">Wrong magic, truncated, trailing data or corrupt gzip.</exception>
    public static byte[] ReadLabels(string path) => Read(path, LabelsMagic, "labels").Data;

    private static (int[] Dims, byte[] Data) Read(string path, int expectedMagic, string kind)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        Span<byte> signature = stackalloc byte[2];
        int got = file.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool gzip = got == 2 && signature[0] == 0x1F && signature[1] == 0x8B;
        try
        {
            using var content = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : (Stream)file;
            return ReadContent(path, content, gzip ? null : file.Length, expectedMagic, kind);
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException(path, $"the gzip data is corrupt: {e.Message}", e);
        }
    }

    private static (int[] Dims, byte[] Data) ReadContent(string path, Stream content, long? plainLength, int expectedMagic, string kind)
    {
        Span<byte> word = stackalloc byte[4];
        if (content.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
            throw new IdxFormatException(path, "the file ends inside the 4-byte magic number (truncated or empty).");
        int magic = BinaryPrimitives.ReadInt32BigEndian(word);
        if (magic != expectedMagic)
            throw new IdxFormatException(path, $"magic number 0x{magic:X8} is not that of an idx {kind} file (expected 0x{expectedMagic:X8}).");

        int rank = expectedMagic & 0xFF;
        var dims = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            if (content.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
                throw new IdxFormatException(path, $"the file ends inside the header (dimension {i} of {rank}; truncated).");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[i] < 0)
                throw new IdxFormatException(path, $"dimension {i} is negative ({dims[i]}).");
            elements *= dims[i];
            if (elements > Array.MaxLength)
                throw new IdxFormatException(path, $"the header's sizes [{string.Join(", ", dims[..(i + 1)])}] describe more than {Array.MaxLength} bytes.");
        }
        long headerBytes = 4 + 4L * rank;
        string described = $"{string.Join("×", dims)} {kind} header";

        if (plainLength is { } length)
        {
            long expected = headerBytes + elements;
            if (length < expected)
                throw new IdxFormatException(path, $"the file is truncated: the {described} needs {expected} bytes but the file has {length}.");
            if (length > expected)
                throw new IdxFormatException(path, $"the file has {length - expected} bytes after the data the {described} describes ({expected} bytes).");
            var data = new byte[elements];
            content.ReadExactly(data);
            return (dims, data);
        }

        // Decompressed size is unknown up front: grow with the data so a lying header cannot force a huge allocation.
        var buffer = new byte[Math.Min(elements, 1 << 20)];
        long filled = 0;
        while (filled < elements)
        {
            if (filled == buffer.Length)
                Array.Resize(ref buffer, (int)Math.Min(elements, 2L * buffer.Length));
            int read = content.Read(buffer, (int)filled, buffer.Length - (int)filled);
            if (read == 0)
                throw new IdxFormatException(path, $"the file is truncated: the {described} needs {elements} data bytes but the decompressed data has {filled}.");
            filled += read;
        }
        Span<byte> probe = stackalloc byte[1];
        if (content.Read(probe) > 0)
            throw new IdxFormatException(path, $"the decompressed data continues after the {elements} bytes the {described} describes.");
        return (dims, buffer);
    }
}
