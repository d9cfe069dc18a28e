using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using OneLoRA.Serialization;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Serialization;

public sealed class SafetensorsTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    // Values chosen to be exact in every float format (F16 and BF16 included).
    private static readonly float[] Floats = [0f, 1.5f, -2.25f, 3f, -0.5f, 100f];
    private static readonly long[] Integers = [0, 1, -2, 3, -4, 5];

    /// <summary>A [2, 3] tensor of the dtype and its little-endian bytes computed without TorchSharp.</summary>
    private static (Tensor Tensor, byte[] Bytes) Sample(string dtype)
    {
        var bytes = new List<byte>();
        switch (dtype)
        {
            case "F64":
                foreach (var f in Floats) bytes.AddRange(LittleEndian(BitConverter.DoubleToInt64Bits(f), 8));
                return (tensor(Floats.Select(f => (double)f).ToArray(), [2, 3]), bytes.ToArray());
            case "F32":
                foreach (var f in Floats) bytes.AddRange(LittleEndian(BitConverter.SingleToInt32Bits(f), 4));
                return (tensor(Floats, [2, 3]), bytes.ToArray());
            case "F16":
                foreach (var f in Floats) bytes.AddRange(LittleEndian(BitConverter.HalfToInt16Bits((Half)f), 2));
                return (tensor(Floats, [2, 3]).to(ScalarType.Float16), bytes.ToArray());
            case "BF16":
                // bfloat16 is the top half of the float32 bit pattern (exact for these values).
                foreach (var f in Floats) bytes.AddRange(LittleEndian(BitConverter.SingleToInt32Bits(f) >>> 16, 2));
                return (tensor(Floats, [2, 3]).to(ScalarType.BFloat16), bytes.ToArray());
            case "I64":
                foreach (var v in Integers) bytes.AddRange(LittleEndian(v, 8));
                return (tensor(Integers, [2, 3]), bytes.ToArray());
            case "I32":
                foreach (var v in Integers) bytes.AddRange(LittleEndian(v, 4));
                return (tensor(Integers, [2, 3]).to(ScalarType.Int32), bytes.ToArray());
            case "I16":
                foreach (var v in Integers) bytes.AddRange(LittleEndian(v, 2));
                return (tensor(Integers, [2, 3]).to(ScalarType.Int16), bytes.ToArray());
            case "I8":
                foreach (var v in Integers) bytes.AddRange(LittleEndian(v, 1));
                return (tensor(Integers, [2, 3]).to(ScalarType.Int8), bytes.ToArray());
            case "U8":
                byte[] u8 = [0, 1, 2, 3, 250, 255];
                return (tensor(u8, [2, 3]), u8);
            case "BOOL":
                bool[] flags = [true, false, true, true, false, false];
                return (tensor(flags, [2, 3]), flags.Select(b => (byte)(b ? 1 : 0)).ToArray());
            default:
                throw new ArgumentException(dtype);
        }
    }

    private static IEnumerable<byte> LittleEndian(long value, int size)
    {
        for (int i = 0; i < size; i++) yield return (byte)(value >> (8 * i));
    }

    private static (JsonDocument Header, long HeaderLength, byte[] Data) ParseIndependently(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        return (header, n, bytes[(int)(8 + n)..]);
    }

    [Theory]
    [InlineData("F64", ScalarType.Float64)]
    [InlineData("F32", ScalarType.Float32)]
    [InlineData("F16", ScalarType.Float16)]
    [InlineData("BF16", ScalarType.BFloat16)]
    [InlineData("I64", ScalarType.Int64)]
    [InlineData("I32", ScalarType.Int32)]
    [InlineData("I16", ScalarType.Int16)]
    [InlineData("I8", ScalarType.Int8)]
    [InlineData("U8", ScalarType.Byte)]
    [InlineData("BOOL", ScalarType.Bool)]
    public void Every_dtype_round_trips_and_is_written_as_the_spec_says(string dtype, ScalarType type)
    {
        var (original, expectedBytes) = Sample(dtype);
        using var _ = original;
        var path = dir.File("t.safetensors");

        Safetensors.Save(path, [("x", original)]);

        var (header, _, data) = ParseIndependently(path);
        using (header)
        {
            var entry = header.RootElement.GetProperty("x");
            Assert.Equal(dtype, entry.GetProperty("dtype").GetString());
            Assert.Equal([2L, 3L], entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal([0L, expectedBytes.Length], entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal("pt", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());
        }
        Assert.Equal(expectedBytes, data);

        var loaded = Safetensors.Load(path);
        using var x = Assert.Single(loaded).Value;
        Assert.Equal(type, x.dtype);
        Assert.Equal([2L, 3L], x.shape);
        Assert.True(x.eq(original).all().item<bool>());
    }

    [Fact]
    public void Header_keys_are_sorted_padded_to_8_and_tensors_aligned_to_their_element_size()
    {
        using var b = tensor(new byte[] { 1, 2, 3 });
        using var a = tensor(new double[] { 1.0, 2.0 });
        using var c = tensor(new float[] { 1f }).to(ScalarType.Float16);
        var path = dir.File("layout.safetensors");

        Safetensors.Save(path, [("b", b), ("a", a), ("c", c)], new Dictionary<string, string> { ["format"] = "pt", ["origin"] = "test" });

        var (header, n, data) = ParseIndependently(path);
        using (header)
        {
            Assert.Equal(["__metadata__", "a", "b", "c"], header.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Equal(0, n % 8);
            var offsets = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
                .ToDictionary(p => p.Name, p => p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray());
            // Largest elements first: a (F64) at 0, c (F16) next, b (U8) last; all absolute positions aligned.
            Assert.Equal([0L, 16L], offsets["a"]);
            Assert.Equal([16L, 18L], offsets["c"]);
            Assert.Equal([18L, 21L], offsets["b"]);
            Assert.Equal(0, (8 + n + offsets["a"][0]) % 8);
            Assert.Equal(0, (8 + n + offsets["c"][0]) % 2);
            Assert.Equal("test", header.RootElement.GetProperty("__metadata__").GetProperty("origin").GetString());
        }
        Assert.Equal(21, data.Length);
        var raw = File.ReadAllBytes(path);
        Assert.Equal((byte)' ', raw[8 + n - 1]);
        using var file = Safetensors.Open(path);
        Assert.Equal("test", file.Metadata["origin"]);
    }

    [Fact]
    public void Scalars_empty_and_non_contiguous_tensors_round_trip()
    {
        using var scalar = tensor(7.5f);
        using var emptyRows = zeros(0, 3);
        using var transposed = arange(6, dtype: ScalarType.Float32).reshape(2, 3).t();
        var path = dir.File("shapes.safetensors");

        Safetensors.Save(path, [("scalar", scalar), ("empty", emptyRows), ("t", transposed)]);

        var (header, _, data) = ParseIndependently(path);
        header.Dispose();
        // Row-major bytes of the transposed view: [[0, 3], [1, 4], [2, 5]], after the scalar (sorted by name: scalar, t).
        var expected = new[] { 7.5f, 0f, 3f, 1f, 4f, 2f, 5f }.SelectMany(f => LittleEndian(BitConverter.SingleToInt32Bits(f), 4)).ToArray();
        Assert.Equal(expected, data);

        var loaded = Safetensors.Load(path);
        try
        {
            Assert.Empty(loaded["scalar"].shape);
            Assert.Equal(7.5f, loaded["scalar"].item<float>());
            Assert.Equal([0L, 3L], loaded["empty"].shape);
            Assert.Equal([3L, 2L], loaded["t"].shape);
            Assert.True(loaded["t"].eq(transposed).all().item<bool>());
        }
        finally
        {
            foreach (var t in loaded.Values) t.Dispose();
        }
    }

    [Fact]
    public void Writer_rejects_repeated_reserved_and_unsupported_names_with_the_tensor_named()
    {
        using var t = ones(2);
        using var complexValues = ones(2, dtype: ScalarType.ComplexFloat32);
        var path = dir.File("bad.safetensors");

        Assert.Contains("'x' appears twice", Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [("x", t), ("x", t)])).Message);
        Assert.Contains("'__metadata__' is reserved", Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [("__metadata__", t)])).Message);
        var unsupported = Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [("z", complexValues)]));
        Assert.Contains("'z'", unsupported.Message);
        Assert.Contains("ComplexFloat32", unsupported.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_write_failing_midway_leaves_the_old_file_intact_and_no_temporary_behind()
    {
        var path = dir.File("model.safetensors");
        using var first = ones(4);
        Safetensors.Save(path, [("old", first)]);
        var before = File.ReadAllBytes(path);

        using var good = ones(8);
        IEnumerable<(string, Tensor)> Throwing()
        {
            yield return ("a", good);
            throw new InvalidOperationException("enumerator failed midway");
        }
        Assert.Equal("enumerator failed midway", Assert.Throws<InvalidOperationException>(() => Safetensors.Save(path, Throwing())).Message);
        Assert.Equal(before, File.ReadAllBytes(path));

        // A tensor without data (meta device) fails while its bytes are written, after "a" is already in the temp file.
        using var noData = empty([16], ScalarType.Float32, device: META);
        var failure = Assert.Throws<InvalidOperationException>(() => Safetensors.Save(path, [("a", good), ("z", noData)]));
        Assert.Contains("tensor 'z'", failure.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    // ---- malformed files ----

    private string Raw(string headerJson, byte[]? data = null, ulong? headerLength = null, string name = "bad.safetensors")
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + (data?.Length ?? 0)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data?.CopyTo(bytes, 8 + header.Length);
        var path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static SafetensorsFormatException Rejects(string path, long maxManagedBytes = 1_000_000)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Open(path).Dispose());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < maxManagedBytes, $"Rejecting '{path}' allocated {allocated} bytes.");
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        return e;
    }

    private const string OneF32 = """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    [Fact]
    public void File_shorter_than_the_length_field()
    {
        var path = dir.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("fewer than the 8-byte header length field", Rejects(path).Message);
    }

    [Fact]
    public void Header_length_past_the_end_of_the_file()
    {
        var e = Rejects(Raw(OneF32, new byte[8], headerLength: 5000));
        Assert.Contains("says 5000 bytes, past the end of the file", e.Message);
    }

    [Fact]
    public void Huge_header_length_is_rejected_without_allocating_it()
    {
        var e = Rejects(Raw(OneF32, new byte[8], headerLength: 1UL << 60));
        Assert.Contains($"says {1UL << 60} bytes, more than the 100000000-byte limit", e.Message);
    }

    [Fact]
    public void Header_that_is_not_json()
    {
        Assert.Contains("the header is not valid JSON", Rejects(Raw("""{"x": {"dtype": "F32",""", new byte[8])).Message);
        Assert.Contains("does not start with '{'", Rejects(Raw("""["x"]""", name: "array.safetensors")).Message);
    }

    [Fact]
    public void Unknown_dtype_names_the_tensor_and_the_dtype()
    {
        var e = Rejects(Raw("""{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", new byte[2]));
        Assert.Equal("w", e.TensorName);
        Assert.Contains("unknown dtype 'F8_E4M3'", e.Message);
    }

    [Fact]
    public void Size_that_does_not_match_shape_and_dtype()
    {
        var e = Rejects(Raw("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""", new byte[20]));
        Assert.Equal("w", e.TensorName);
        Assert.Contains("shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] span 20", e.Message);
    }

    [Fact]
    public void Shape_whose_byte_count_overflows_is_rejected_without_allocating()
    {
        var e = Rejects(Raw("""{"w":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", new byte[8]));
        Assert.Equal("w", e.TensorName);
        Assert.Contains("overflows", e.Message);
        Assert.Contains("must hold non-negative integers",
            Rejects(Raw("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4], name: "neg.safetensors")).Message);
    }

    [Fact]
    public void Offsets_outside_the_data_section()
    {
        var e = Rejects(Raw("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[1000,1008]}}""", new byte[8]));
        Assert.Equal("w", e.TensorName);
        Assert.Contains("data_offsets [1000, 1008] lie outside the data section, which has 8 bytes", e.Message);
    }

    [Fact]
    public void Overlapping_offsets_name_both_tensors()
    {
        var e = Rejects(Raw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]));
        Assert.Equal("b", e.TensorName);
        Assert.Contains("overlap tensor 'a' at [0, 8]", e.Message);
    }

    [Fact]
    public void Gaps_and_trailing_bytes_are_rejected_as_the_reference_implementation_does()
    {
        var gap = Rejects(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8], name: "gap.safetensors"));
        Assert.Contains("leave bytes [0, 4) of the data section unused", gap.Message);
        var trailing = Rejects(Raw(OneF32, new byte[12], name: "trailing.safetensors"));
        Assert.Contains("cover 8 bytes of the data section but it has 12", trailing.Message);
    }

    [Fact]
    public void Truncated_file_names_the_tensor_that_runs_past_the_end()
    {
        using var a = ones(4);
        using var b = ones(4);
        var path = dir.File("cut.safetensors");
        Safetensors.Save(path, [("a", a), ("b", b)]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);

        var e = Rejects(path);
        Assert.Equal("b", e.TensorName);
        Assert.Contains("lie outside the data section", e.Message);
    }

    [Fact]
    public void Duplicate_keys_and_bad_metadata_are_rejected()
    {
        var duplicate = Rejects(Raw("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", new byte[2]));
        Assert.Equal("a", duplicate.TensorName);
        Assert.Contains("appears twice", duplicate.Message);
        var metadata = Rejects(Raw("""{"__metadata__":{"format":1},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", new byte[1], name: "meta.safetensors"));
        Assert.Contains("'__metadata__' entry 'format' is a JSON Number, expected a string", metadata.Message);
    }

    [Fact]
    public void Bool_bytes_other_than_0_and_1_are_rejected_on_read()
    {
        var path = Raw("""{"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}""", [1, 2, 0]);
        using var file = Safetensors.Open(path);
        var e = Assert.Throws<SafetensorsFormatException>(() => file.Read("m"));
        Assert.Equal("m", e.TensorName);
        Assert.Contains("bytes other than 0 and 1", e.Message);
    }

    [Fact]
    public void Files_written_by_hand_in_the_spec_layout_are_read()
    {
        // Zero-size tensor, scalar, metadata, header padded with spaces: all allowed by the spec.
        var data = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(data, 2.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -1f);
        var path = Raw("""{"__metadata__":{"format":"pt"},"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"v":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}    """, data);

        using var file = Safetensors.Open(path);
        Assert.Equal(["e", "s", "v"], file.Names);
        using var s = file.Read("s");
        using var v = file.Read("v");
        using var e = file.Read("e");
        Assert.Equal(2.5f, s.item<float>());
        Assert.Equal(-1f, v[0].item<float>());
        Assert.Equal(0, e.numel());
        Assert.Contains("has no tensor 'nope'", Assert.Throws<KeyNotFoundException>(() => file["nope"]).Message);
    }
}
