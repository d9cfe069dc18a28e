using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using OneLoRA.Serialization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Serialization;

/// <summary>Issue 11 "Loaders": hostile headers and values give the documented exceptions, bounded memory, no change.</summary>
public sealed class LoaderRobustnessTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>A safetensors file from raw header bytes and data bytes (no code under test).</summary>
    private string Raw(byte[] header, byte[]? data = null, string name = "x.safetensors")
    {
        var path = Path.Combine(dir.Path, name);
        var bytes = new byte[8 + header.Length + (data?.Length ?? 0)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data?.CopyTo(bytes, 8 + header.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Raw(string header, byte[]? data = null) => Raw(Encoding.UTF8.GetBytes(header), data);

    private static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    [Fact]
    public void Invalid_utf8_in_a_tensor_name_is_a_format_error_naming_the_offset()
    {
        var header = Encoding.UTF8.GetBytes("{\"ab?\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        header[4] = 0xFF;
        var path = Raw(header, Floats(1));
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Open(path).Dispose());
        Assert.Contains("not valid UTF-8", e.Message);
        Assert.Contains("offset 4", e.Message);
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void Invalid_utf8_in_a_dtype_names_the_entry()
    {
        var header = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F3?\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        header[Array.IndexOf(header, (byte)'?')] = 0xC3;
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Open(Raw(header, Floats(1))).Dispose());
        Assert.Equal("w", e.TensorName);
    }

    [Fact]
    public void Invalid_utf8_in_adapter_config_is_an_adapter_load_error()
    {
        using var model = new TinyNet();
        var attachment = Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = "LoRA", Rank = 2 }));
        attachment.Save(dir.Path);
        var config = Path.Combine(dir.Path, AdapterFiles.ConfigFileName);
        var bytes = File.ReadAllBytes(config);
        var at = Encoding.UTF8.GetString(bytes).IndexOf("LORA", StringComparison.Ordinal);
        bytes[at] = 0xFE;
        File.WriteAllBytes(config, bytes);
        var e = Assert.Throws<AdapterLoadException>(() => model.LoadAdapters(dir.Path));
        Assert.Contains("not valid UTF-8", e.Message);
        Assert.Contains(config, e.Message);
    }

    [Theory]
    [InlineData("[0, 9223372036854775807, 9223372036854775807]")]
    [InlineData("[9223372036854775807, 0]")]
    [InlineData("[4294967296, 4294967296, 0]")]
    public void Zero_element_shapes_whose_strides_overflow_are_refused(string shape)
    {
        var path = Raw($"{{\"w\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[0,0]}}}}");
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Contains("overflows", e.Message);
        Assert.Equal("w", e.TensorName);
    }

    [Fact]
    public void A_zero_element_shape_that_fits_still_loads()
    {
        var path = Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]}}");
        var loaded = Safetensors.Load(path);
        Assert.Equal([0L, 3L], loaded["w"].shape);
        loaded["w"].Dispose();
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "'dtype' twice")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}", "'shape' twice")]
    [InlineData("{\"__metadata__\":{\"format\":\"pt\",\"format\":\"np\"},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "'format' twice")]
    public void Duplicate_fields_inside_entries_and_metadata_are_refused(string header, string expected)
    {
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Open(Raw(header, Floats(1))).Dispose());
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Duplicate_keys_in_adapter_config_are_refused_at_any_depth()
    {
        using var model = new TinyNet();
        var attachment = Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = "LoRA", Rank = 2 }));
        attachment.Save(dir.Path);
        var config = Path.Combine(dir.Path, AdapterFiles.ConfigFileName);
        File.WriteAllText(config, "{\"peft_type\": \"LORA\", \"r\": 2, \"r\": 4}");
        Assert.Contains("'$.r' appears twice", Assert.Throws<AdapterLoadException>(() => model.LoadAdapters(dir.Path)).Message);
        File.WriteAllText(config, "{\"peft_type\": \"LORA\", \"rank_pattern\": {\"fc1\": 2, \"fc1\": 4}}");
        Assert.Contains("'$.rank_pattern.fc1' appears twice", Assert.Throws<AdapterLoadException>(() => model.LoadAdapters(dir.Path)).Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Non_finite_adapter_values_are_refused_unless_allowed(float bad)
    {
        using var source = new TinyNet();
        var saved = Peft.Attach(source, source.Targets(), PeftMethods.Create(new PeftOptions { Method = "LoRA", Rank = 2 }));
        AdapterValues.Randomize(saved);
        using (no_grad()) saved["fc2"].AdapterTensors().First(t => t.Key == "lora_B.weight").Tensor[1, 0] = tensor(bad);
        source.SaveAdapters(dir.Path);

        using var target = new TinyNet();
        var loaded = Peft.Attach(target, target.Targets(), PeftMethods.Create(new PeftOptions { Method = "LoRA", Rank = 2 }));
        var before = AdapterValues.Snapshot(target);
        var e = Assert.Throws<AdapterLoadException>(() => target.LoadAdapters(dir.Path));
        Assert.Contains("'base_model.model.fc2.lora_B.weight' holds 1 non-finite value", e.Message);
        Assert.Contains("flat index 2", e.Message);
        Assert.Equal(before, AdapterValues.Snapshot(target));

        target.LoadAdapters(dir.Path, allowNonFinite: true);
        var value = loaded["fc2"].AdapterTensors().First(t => t.Key == "lora_B.weight").Tensor[1, 0].item<float>();
        Assert.Equal(bad, value);
    }

    [Fact]
    public void Non_finite_base_weights_are_refused_unless_allowed()
    {
        using var source = new TinyNet();
        using (no_grad()) source.Fc1.weight![0, 0] = tensor(float.NaN);
        var path = Path.Combine(dir.Path, "w.safetensors");
        source.SaveWeights(path);
        using var target = new TinyNet(seed: 2);
        var e = Assert.Throws<StateLoadException>(() => target.LoadWeights(path));
        Assert.Contains("'fc1.weight' holds 1 non-finite value", e.Message);
        Assert.Contains(path, e.Message);
        target.LoadWeights(path, allowNonFinite: true);
        Assert.True(float.IsNaN(target.Fc1.weight![0, 0].item<float>()));
    }

    /// <summary>Bytes allocated on this thread by <paramref name="action"/> (which must fail as documented).</summary>
    private static long AllocatedBy(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try { action(); }
        catch (Exception e) when (e is SafetensorsFormatException or StateLoadException) { }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void A_huge_tensor_name_is_refused_without_materialising_it()
    {
        using var model = new TinyNet();
        Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = "LoRA", Rank = 2 }));
        model.SaveAdapters(dir.Path);
        var name = new string('n', 4_000_000);
        var header = Encoding.UTF8.GetBytes($"{{\"{name}\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}}}");
        var file = Raw(header, Floats(1), AdapterFiles.WeightsFileName);
        long size = new FileInfo(file).Length;
        var e = Assert.Throws<SafetensorsFormatException>(() => model.LoadAdapters(dir.Path));
        Assert.Contains($"longer than the {Safetensors.MaxNameBytes}-byte limit", e.Message);
        long allocated = AllocatedBy(() => model.LoadAdapters(dir.Path));
        Assert.True(allocated < 2 * size, $"one load allocated {allocated} bytes for a {size}-byte file.");
    }

    [Fact]
    public void Many_entries_allocate_a_small_multiple_of_the_file_size()
    {
        using var model = new TinyNet();
        Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = "LoRA", Rank = 2 }));
        model.SaveAdapters(dir.Path);
        var header = new StringBuilder("{");
        const int n = 50_000;
        for (int i = 0; i < n; i++)
            header.Append($"{(i == 0 ? "" : ",")}\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[{i},{i + 1}]}}");
        header.Append('}');
        var file = Raw(Encoding.UTF8.GetBytes(header.ToString()), new byte[n], AdapterFiles.WeightsFileName);
        long size = new FileInfo(file).Length;
        var e = Assert.Throws<AdapterLoadException>(() => model.LoadAdapters(dir.Path));
        Assert.Contains("… and", e.Message);
        Assert.True(e.Message.Length < 10_000, $"the message has {e.Message.Length} characters.");
        long allocated = AllocatedBy(() => model.LoadAdapters(dir.Path));
        Assert.True(allocated < 16 * size, $"one load allocated {allocated} bytes ({(double)allocated / size:F1}× the {size}-byte file).");
    }

    [Fact]
    public void More_entries_than_the_limit_are_refused()
    {
        var header = new StringBuilder("{");
        int n = Safetensors.MaxEntries + 1;
        for (int i = 0; i < n; i++)
            header.Append($"{(i == 0 ? "" : ",")}\"{i}\":{{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}");
        header.Append('}');
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Open(Raw(header.ToString())).Dispose());
        Assert.Contains($"more than {Safetensors.MaxEntries} tensor entries", e.Message);
    }
}
