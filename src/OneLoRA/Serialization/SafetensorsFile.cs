using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using static TorchSharp.torch;

namespace OneLoRA.Serialization;

/// <summary>
/// An open safetensors file whose header passed every check; tensors are read on demand.
/// Checks, all before any tensor memory is allocated: the header length fits in the file and is at most
/// <see cref="Safetensors.MaxHeaderLength"/>; the header is a JSON object without duplicate keys;
/// <c>__metadata__</c>, if present, maps strings to strings; every entry has a known dtype, a shape of
/// non-negative integers and two offsets with begin ≤ end; product(shape)·itemsize = end − begin; and the
/// entries, sorted by offset, cover the data section exactly — no gap, no overlap, nothing past its end,
/// nothing after the last tensor (the reference implementation's rule). So no tensor can claim more memory
/// than the file holds. Also: the header is valid UTF-8 (an invalid byte is reported with its offset and the
/// entry it lies in); no object holds a key twice (top level, inside an entry, in <c>__metadata__</c>); at most
/// <see cref="Safetensors.MaxEntries"/> entries, names of at most <see cref="Safetensors.MaxNameBytes"/> bytes,
/// shapes of at most <see cref="Safetensors.MaxRank"/> dimensions whose element count and strides fit in 64 bits
/// (checked even when a dimension is 0). So one open allocates a small multiple of the header's size.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly FileStream stream;
    private readonly long dataStart;
    private readonly Dictionary<string, SafetensorsEntry> byName;

    private SafetensorsFile(string path, FileStream stream, long dataStart, long dataLength,
        List<SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        FilePath = path;
        this.stream = stream;
        this.dataStart = dataStart;
        DataLength = dataLength;
        Entries = entries;
        byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Metadata = metadata;
    }

    /// <summary>The file's path as given.</summary>
    public string FilePath { get; }

    /// <summary>The tensor entries in header order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Size of the data section in bytes.</summary>
    public long DataLength { get; }

    /// <summary>The tensor names in header order.</summary>
    public IEnumerable<string> Names => Entries.Select(e => e.Name);

    /// <summary>True when the file holds a tensor of that name.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The entry of a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name; the message lists those present.</exception>
    public SafetensorsEntry this[string name] =>
        byName.TryGetValue(name, out var e) ? e
        : throw new KeyNotFoundException($"'{FilePath}' has no tensor '{name}'. It holds: {string.Join(", ", Names.Take(50))}{(Entries.Count > 50 ? $", … ({Entries.Count} in all)" : "")}.");

    /// <summary>Reads one tensor into a new CPU tensor of the file's dtype and shape (the caller disposes it).</summary>
    /// <exception cref="SafetensorsFormatException">The data ends early (the file changed after it was opened) or a BOOL tensor holds bytes other than 0 and 1.</exception>
    public Tensor Read(string name)
    {
        var entry = this[name];
        var tensor = empty(entry.ShapeArray(), entry.ScalarType);
        try
        {
            if (entry.ByteLength > 0)
            {
                stream.Position = dataStart + entry.Begin;
                tensor.ReadBytesFromStream(stream, (int)Math.Min(entry.ByteLength, 1 << 20));
            }
            if (entry.ScalarType == ScalarType.Bool)
                CheckBooleans(tensor, entry);
            return tensor;
        }
        catch (EndOfStreamException e)
        {
            tensor.Dispose();
            throw new SafetensorsFormatException(FilePath, name, $"data ends before byte {entry.End} of the data section (the file is truncated).", e);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Reads every tensor (the caller disposes them).</summary>
    public Dictionary<string, Tensor> ReadAll()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in Entries) result[e.Name] = Read(e.Name);
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => stream.Dispose();

    private void CheckBooleans(Tensor tensor, SafetensorsEntry entry)
    {
        // A torch bool must be stored as 0 or 1; other bytes make comparisons undefined.
        if (entry.ByteLength > 0 && tensor.bytes.IndexOfAnyExcept((byte)0, (byte)1) >= 0)
            throw new SafetensorsFormatException(FilePath, entry.Name, "BOOL data holds bytes other than 0 and 1.");
    }

    /// <summary>Opens and validates a file; see the class summary for the checks.</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks the format.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Safetensors file '{path}' does not exist.", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        try
        {
            return Parse(path, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static SafetensorsFile Parse(string path, FileStream stream)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new SafetensorsFormatException(path, null, $"the file has {fileLength} bytes, fewer than the 8-byte header length field.");
        Span<byte> lengthField = stackalloc byte[8];
        stream.ReadExactly(lengthField);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthField);
        if (headerLength > Safetensors.MaxHeaderLength)
            throw new SafetensorsFormatException(path, null, $"the header length field says {headerLength} bytes, more than the {Safetensors.MaxHeaderLength}-byte limit.");
        if (headerLength > (ulong)(fileLength - 8))
            throw new SafetensorsFormatException(path, null, $"the header length field says {headerLength} bytes, past the end of the file ({fileLength - 8} bytes follow the field).");
        if (headerLength < 2)
            throw new SafetensorsFormatException(path, null, $"the header length field says {headerLength} bytes; a header is a JSON object of at least 2 bytes.");

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        if (header[0] != (byte)'{')
            throw new SafetensorsFormatException(path, null, $"the header does not start with '{{' (first byte 0x{header[0]:X2}).");

        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;
        CheckUtf8(path, header);
        CheckBounds(path, header);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(path, null, $"the header is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException(path, null, $"the header is a JSON {document.RootElement.ValueKind}, expected an object.");
            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                // JsonProperty.Name makes a new string on every call: once per entry (the fuzz corpus's many-entry
                // headers allocated over 30 bytes per header byte before).
                var name = property.Name;
                if (!seen.Add(name))
                    throw new SafetensorsFormatException(path, name, "the key appears twice in the header; duplicate keys are not allowed.");
                if (name == Safetensors.MetadataKey)
                    ReadMetadata(path, property.Value, metadata);
                else
                    entries.Add(ReadEntry(path, name, property.Value, dataLength));
            }
            CheckCoverage(path, entries, dataLength);
            return new SafetensorsFile(path, stream, dataStart, dataLength, entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(path, null, $"'{Safetensors.MetadataKey}' is a JSON {value.ValueKind}, expected an object of strings.");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsFormatException(path, null, $"'{Safetensors.MetadataKey}' entry '{item.Name}' is a JSON {item.Value.ValueKind}, expected a string.");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw new SafetensorsFormatException(path, null, $"'{Safetensors.MetadataKey}' holds the key '{item.Name}' twice; duplicate keys are not allowed.");
        }
    }

    private static SafetensorsEntry ReadEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(path, name, $"the entry is a JSON {value.ValueKind}, expected an object with dtype, shape and data_offsets.");

        // Duplicate fields, without a string per field: the three known names are compared as UTF-8 bytes; a set is
        // made only for an entry that has other fields.
        int dtypes = 0, shapes = 0, offsetFields = 0;
        HashSet<string>? others = null;
        foreach (var field in value.EnumerateObject())
        {
            string? duplicate = null;
            if (field.NameEquals("dtype"u8)) { if (++dtypes > 1) duplicate = "dtype"; }
            else if (field.NameEquals("shape"u8)) { if (++shapes > 1) duplicate = "shape"; }
            else if (field.NameEquals("data_offsets"u8)) { if (++offsetFields > 1) duplicate = "data_offsets"; }
            else if (!(others ??= new HashSet<string>(StringComparer.Ordinal)).Add(field.Name)) duplicate = field.Name;
            if (duplicate is not null)
                throw new SafetensorsFormatException(path, name, $"the entry holds the field '{duplicate}' twice; duplicate keys are not allowed.");
        }

        if (!value.TryGetProperty("dtype", out var dtypeValue) || dtypeValue.ValueKind != JsonValueKind.String)
            throw new SafetensorsFormatException(path, name, "the entry has no string 'dtype'.");
        var dtype = dtypeValue.GetString()!;
        if (!Safetensors.TryParseDType(dtype, out var scalarType, out var itemSize))
            throw new SafetensorsFormatException(path, name, $"unknown dtype '{dtype}'; supported: {string.Join(", ", Safetensors.SupportedDTypes)}.");

        if (!value.TryGetProperty("shape", out var shapeValue) || shapeValue.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException(path, name, "the entry has no 'shape' array.");
        if (shapeValue.GetArrayLength() > Safetensors.MaxRank)
            throw new SafetensorsFormatException(path, name, $"the shape has {shapeValue.GetArrayLength()} dimensions, more than the {Safetensors.MaxRank} allowed.");
        var shape = new long[shapeValue.GetArrayLength()];
        int rank = 0;
        foreach (var d in shapeValue.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var size) || size < 0)
                throw new SafetensorsFormatException(path, name, $"shape {shapeValue.GetRawText()} must hold non-negative integers.");
            shape[rank++] = size;
        }

        if (!value.TryGetProperty("data_offsets", out var offsetsValue) || offsetsValue.ValueKind != JsonValueKind.Array
            || offsetsValue.GetArrayLength() != 2)
            throw new SafetensorsFormatException(path, name, "the entry has no 'data_offsets' array of two integers [begin, end].");
        var offsets = new long[2];
        int i = 0;
        foreach (var o in offsetsValue.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out var offset) || offset < 0)
                throw new SafetensorsFormatException(path, name, $"data_offsets {offsetsValue.GetRawText()} must be two non-negative integers.");
            offsets[i++] = offset;
        }
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end)
            throw new SafetensorsFormatException(path, name, $"data_offsets [{begin}, {end}] end before they begin.");

        long expected;
        try
        {
            // The product of the non-zero dimensions bounds every stride (in bytes), so a zero-element tensor
            // whose other dimensions would overflow TorchSharp's stride computation is refused here too.
            long strideBound = itemSize, count = 1;
            foreach (var d in shape)
            {
                strideBound = checked(strideBound * Math.Max(d, 1));
                count = checked(count * d);
            }
            expected = checked(count * itemSize);
        }
        catch (OverflowException)
        {
            throw new SafetensorsFormatException(path, name, $"shape [{string.Join(", ", shape)}] of {dtype} overflows a 64-bit element or byte count.");
        }
        if (expected != end - begin)
            throw new SafetensorsFormatException(path, name,
                $"shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes but data_offsets [{begin}, {end}] span {end - begin}.");
        if (end > dataLength)
            throw new SafetensorsFormatException(path, name,
                $"data_offsets [{begin}, {end}] lie outside the data section, which has {dataLength} bytes.");
        return new SafetensorsEntry(name, dtype, scalarType, shape, begin, end);
    }

    /// <summary>
    /// Bounds checked with a forward-only reader before the header is materialised: entry count and tensor-name
    /// length (so no huge name becomes a string, and no huge key list a dictionary).
    /// </summary>
    private static void CheckBounds(string path, byte[] header)
    {
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 64 });
        int entries = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1) continue;
                var raw = reader.ValueSpan; // one contiguous buffer: never a sequence
                bool metadata = !reader.ValueIsEscaped && raw.SequenceEqual("__metadata__"u8);
                if (!metadata && ++entries > Safetensors.MaxEntries)
                    throw new SafetensorsFormatException(path, null, $"the header holds more than {Safetensors.MaxEntries} tensor entries, the limit.");
                // Escapes only shrink the text (\uXXXX is 6 bytes for at most 3 of UTF-8), so the raw length bounds the name.
                long bytes = raw.Length <= Safetensors.MaxNameBytes ? raw.Length
                    : raw.Length > 6L * Safetensors.MaxNameBytes || !reader.ValueIsEscaped ? raw.Length
                    : System.Text.Encoding.UTF8.GetByteCount(reader.GetString()!);
                if (bytes > Safetensors.MaxNameBytes)
                    throw new SafetensorsFormatException(path, null,
                        $"a tensor name of {(reader.ValueIsEscaped ? "at least " : "")}{Math.Min(bytes, raw.Length)} bytes (starting '{System.Text.Encoding.UTF8.GetString(raw[..Math.Min(40, raw.Length)])}…') is longer than the {Safetensors.MaxNameBytes}-byte limit.");
            }
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(path, null, $"the header is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Refuses a header that is not UTF-8, naming the byte offset and the entry the bad byte lies in.</summary>
    private static void CheckUtf8(string path, byte[] header)
    {
        if (System.Text.Unicode.Utf8.IsValid(header)) return;
        int offset = FirstInvalidUtf8(header);
        // The entry: the last top-level key starting before the bad byte, decoded lossily (U+FFFD) for the message.
        string? entry = null;
        int depth = 0;
        for (int i = 0; i < offset; i++)
        {
            byte b = header[i];
            if (b == (byte)'"')
            {
                int start = i + 1, j = start;
                while (j < header.Length && header[j] != (byte)'"') j += header[j] == (byte)'\\' ? 2 : 1;
                if (depth == 1)
                {
                    int k = j + 1;
                    while (k < header.Length && header[k] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') k++;
                    if (k < header.Length && header[k] == (byte)':')
                        entry = System.Text.Encoding.UTF8.GetString(header, start, Math.Min(Math.Min(j, header.Length) - start, 200));
                }
                i = j;
            }
            else if (b is (byte)'{' or (byte)'[') depth++;
            else if (b is (byte)'}' or (byte)']') depth--;
        }
        throw new SafetensorsFormatException(path, entry,
            $"the header is not valid UTF-8: byte 0x{header[offset]:X2} at header offset {offset} does not start a valid UTF-8 sequence.");
    }

    /// <summary>Offset of the first byte that does not begin a valid UTF-8 sequence.</summary>
    internal static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[i..], out _, out int consumed) != System.Buffers.OperationStatus.Done)
                return i;
            i += consumed;
        }
        return bytes.Length;
    }

    private static void CheckCoverage(string path, List<SafetensorsEntry> entries, long dataLength)
    {
        long cursor = 0;
        SafetensorsEntry? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < cursor)
                throw new SafetensorsFormatException(path, e.Name,
                    $"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' at [{previous.Begin}, {previous.End}].");
            if (e.Begin > cursor)
                throw new SafetensorsFormatException(path, e.Name,
                    $"data_offsets [{e.Begin}, {e.End}] leave bytes [{cursor}, {e.Begin}) of the data section unused; tensors must cover it without gaps.");
            cursor = e.End;
            previous = e;
        }
        if (cursor != dataLength)
            throw new SafetensorsFormatException(path, null,
                $"the tensors cover {cursor} bytes of the data section but it has {dataLength}; the file has trailing bytes.");
    }
}
