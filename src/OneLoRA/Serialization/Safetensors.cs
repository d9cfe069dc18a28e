using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Encodings.Web;
using System.Text.Json;
using static TorchSharp.torch;

namespace OneLoRA.Serialization;

/// <summary>
/// Reads and writes the safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of UTF-8 JSON <c>{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}</c>,
/// then the raw little-endian, row-major tensor bytes. Reading is strict (see <see cref="SafetensorsFile"/>);
/// writing is atomic and deterministic (sorted header keys, tensors laid out by descending element size so
/// every tensor is aligned to its element size, header padded with spaces to a multiple of 8).
/// </summary>
public static class Safetensors
{
    /// <summary>Largest accepted header, as in the reference implementation (guards against a hostile length).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>Most tensor entries one header may hold (large checkpoints shard at a few thousand per file).</summary>
    public const int MaxEntries = 100_000;

    /// <summary>Longest tensor name, in UTF-8 bytes (PEFT keys of large models are about 100).</summary>
    public const int MaxNameBytes = 1024;

    /// <summary>Most dimensions a tensor's shape may have (PyTorch's own limit is 64).</summary>
    public const int MaxRank = 64;

    /// <summary>The header key of the free-form string map.</summary>
    public const string MetadataKey = "__metadata__";

    private static readonly (string Name, ScalarType Type, int Size)[] DTypes =
    [
        ("F64", ScalarType.Float64, 8),
        ("F32", ScalarType.Float32, 4),
        ("F16", ScalarType.Float16, 2),
        ("BF16", ScalarType.BFloat16, 2),
        ("I64", ScalarType.Int64, 8),
        ("I32", ScalarType.Int32, 4),
        ("I16", ScalarType.Int16, 2),
        ("I8", ScalarType.Int8, 1),
        ("U8", ScalarType.Byte, 1),
        ("BOOL", ScalarType.Bool, 1),
    ];

    /// <summary>The dtype names this implementation reads and writes.</summary>
    public static IReadOnlyList<string> SupportedDTypes { get; } = DTypes.Select(d => d.Name).ToArray();

    /// <summary>The metadata our writer puts in every file unless told otherwise: <c>{"format": "pt"}</c>.</summary>
    public static IReadOnlyDictionary<string, string> DefaultMetadata { get; } = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>The safetensors dtype name of a TorchSharp element type.</summary>
    /// <exception cref="NotSupportedException">The type has no safetensors name here.</exception>
    public static string DTypeName(ScalarType type)
    {
        foreach (var d in DTypes)
            if (d.Type == type) return d.Name;
        throw new NotSupportedException($"Element type {type} cannot be stored in safetensors; supported: {string.Join(", ", SupportedDTypes)}.");
    }

    /// <summary>The TorchSharp element type and byte size of a safetensors dtype name; false when unknown.</summary>
    public static bool TryParseDType(string name, out ScalarType type, out int itemSize)
    {
        foreach (var d in DTypes)
        {
            if (d.Name != name) continue;
            type = d.Type;
            itemSize = d.Size;
            return true;
        }
        type = default;
        itemSize = 0;
        return false;
    }

    /// <summary>Opens a file and validates its whole header; tensors are read on demand.</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks the format.</exception>
    public static SafetensorsFile Open(string path) => SafetensorsFile.Open(path);

    /// <summary>Reads every tensor of a file into new CPU tensors (the caller disposes them).</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks the format.</exception>
    public static Dictionary<string, Tensor> Load(string path)
    {
        TorchRuntime.EnsureLoaded();
        using var file = Open(path);
        return file.ReadAll();
    }

    /// <summary>
    /// Writes tensors to <paramref name="path"/> atomically (temporary file in the same directory, then a
    /// rename): if anything fails, an existing file at <paramref name="path"/> is left as it was.
    /// Tensors may live on any device and be non-contiguous; they are copied to CPU, row-major.
    /// </summary>
    /// <param name="path">Target file.</param>
    /// <param name="tensors">Name and tensor pairs; names must be unique, non-empty and not <c>__metadata__</c>.</param>
    /// <param name="metadata">The <c>__metadata__</c> map; <see cref="DefaultMetadata"/> when null.</param>
    /// <exception cref="ArgumentException">A name is empty, reserved or repeated, or a dtype is unsupported.</exception>
    public static void Save(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; this writer copies raw bytes and needs a little-endian machine.");
        metadata ??= DefaultMetadata;

        var items = new List<(string Name, Tensor Tensor, string DType, int Size, long[] Shape)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name))
                throw new ArgumentException($"A tensor for '{path}' has an empty name.", nameof(tensors));
            if (name == MetadataKey)
                throw new ArgumentException($"'{MetadataKey}' is reserved for metadata and cannot name a tensor in '{path}'.", nameof(tensors));
            if (!names.Add(name))
                throw new ArgumentException($"Tensor name '{name}' appears twice in what is written to '{path}'.", nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, $"tensor '{name}'");
            string dtype;
            try { dtype = DTypeName(tensor.dtype); }
            catch (NotSupportedException e) { throw new ArgumentException($"Tensor '{name}': {e.Message}", nameof(tensors), e); }
            TryParseDType(dtype, out _, out var size);
            items.Add((name, tensor, dtype, size, tensor.shape));
        }

        // Larger elements first keeps every tensor aligned to its element size (the header is padded to 8).
        var layout = items.OrderByDescending(i => i.Size).ThenBy(i => i.Name, StringComparer.Ordinal).ToList();
        var offsets = new Dictionary<string, (long Begin, long End)>(StringComparer.Ordinal);
        long cursor = 0;
        foreach (var item in layout)
        {
            long bytes = checked(item.Shape.Aggregate(1L, (a, b) => a * b) * item.Size);
            offsets[item.Name] = (cursor, cursor + bytes);
            cursor += bytes;
        }

        var header = Header(items.Select(i => (i.Name, i.DType, i.Shape, offsets[i.Name])), metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var item in layout)
                WriteData(stream, path, item.Name, item.Tensor);
        });
    }

    private static byte[] Header(IEnumerable<(string Name, string DType, long[] Shape, (long Begin, long End) Offsets)> entries, IReadOnlyDictionary<string, string> metadata)
    {
        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            foreach (var key in byName.Keys.Append(MetadataKey).Order(StringComparer.Ordinal))
            {
                json.WriteStartObject(key);
                if (key == MetadataKey)
                {
                    foreach (var (k, v) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                        json.WriteString(k, v);
                }
                else
                {
                    var e = byName[key];
                    json.WriteString("dtype", e.DType);
                    json.WriteStartArray("shape");
                    foreach (var d in e.Shape) json.WriteNumberValue(d);
                    json.WriteEndArray();
                    json.WriteStartArray("data_offsets");
                    json.WriteNumberValue(e.Offsets.Begin);
                    json.WriteNumberValue(e.Offsets.End);
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        var padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteData(Stream stream, string path, string name, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        try
        {
            var data = tensor.detach().cpu().contiguous();
            long bytes = data.numel() * data.ElementSize;
            if (bytes > 0)
                data.WriteBytesToStream(stream, (int)Math.Min(bytes, 1 << 20));
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidOperationException($"Could not write the data of tensor '{name}' to '{path}': {e.Message}", e);
        }
    }
}
