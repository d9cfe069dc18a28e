using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA.Serialization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Serialization;

public sealed class AdapterFilesTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    public static IEnumerable<object[]> MethodNames => PeftMethods.Names.Select(n => new object[] { n });

    private static PeftOptions Options(string method, bool trainNorms = true) =>
        new() { Method = method, Rank = 2, TrainNorms = trainNorms, TrainBiases = true };

    /// <summary>Keys and shapes of a safetensors file, parsed here without the code under test.</summary>
    private static Dictionary<string, long[]> FileKeys(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, n));
        return header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .ToDictionary(p => p.Name, p => p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
    }

    private static Tensor Output(nn.Module<Tensor, Tensor> model)
    {
        using var x = TinyNet.Input();
        using (no_grad()) return model.call(x);
    }

    [Theory]
    [MemberData(nameof(MethodNames))]
    public void Save_then_load_gives_the_same_adapter_values_and_outputs(string method)
    {
        using var source = new TinyNet();
        var saved = Peft.Attach(source, source.Targets(), PeftMethods.Create(Options(method)));
        AdapterValues.Randomize(saved);
        using var expected = Output(source);
        source.SaveAdapters(dir.Path);

        using var target = new TinyNet();
        var loaded = Peft.Attach(target, target.Targets(), PeftMethods.Create(Options(method)));
        using var before = Output(target);
        target.LoadAdapters(dir.Path);
        using var actual = Output(target);

        Assert.Equal(AdapterValues.Snapshot(saved), AdapterValues.Snapshot(loaded));
        Assert.True(actual.eq(expected).all().item<bool>(), $"{method}: outputs after load differ from the saved model's.");
        Assert.True((before - expected).abs().max().item<float>() > 1e-3, $"{method}: the randomized adapters did not change the output, so the test proves nothing.");
    }

    [Fact]
    public void OneLoRA_file_uses_PEFT_layout_keys()
    {
        using var model = new TinyNet();
        var attachment = Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = "OneLoRA", TrainNorms = true }));
        attachment.Save(dir.Path);

        var keys = FileKeys(Path.Combine(dir.Path, AdapterFiles.WeightsFileName));
        Assert.Equal(new Dictionary<string, long[]>
        {
            ["base_model.model.fc1.onelora_b"] = [5],
            ["base_model.model.fc2.onelora_b"] = [3],
            ["base_model.model.norm.weight"] = [5],
            ["base_model.model.norm.bias"] = [5],
        }, keys);
    }

    [Fact]
    public void OneLoRA_random_compression_saves_its_fixed_vectors()
    {
        using var model = new TinyNet();
        Peft.Attach(model, model.Targets(), PeftMethods.Create(new PeftOptions { Method = "OneLoRA", RandomCompression = true, CompressionSeed = 5 }));
        model.SaveAdapters(dir.Path);

        var keys = FileKeys(Path.Combine(dir.Path, AdapterFiles.WeightsFileName));
        Assert.Equal([4L], keys["base_model.model.fc1.onelora_v"]);
        Assert.Equal([5L], keys["base_model.model.fc2.onelora_v"]);
    }

    [Fact]
    public void Config_is_sorted_indented_by_two_and_names_type_targets_and_method_entries()
    {
        using var model = new TinyNet();
        model.AttachForTest(new PeftOptions { Method = "OneLoRA", TrainNorms = true, TrainBiases = true });
        model.SaveAdapters(dir.Path, baseModelNameOrPath: "runs/pretrained-vit");

        var text = File.ReadAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName));
        using var config = JsonDocument.Parse(text);
        var root = config.RootElement;
        var names = root.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.StartsWith("{\n  \"base_model_name_or_path\": \"runs/pretrained-vit\",\n", text.Replace("\r\n", "\n"));
        Assert.Equal("ONELORA", root.GetProperty("peft_type").GetString());
        Assert.Equal(["fc1", "fc2"], root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("task_type").ValueKind);
        // The adapted layers' trained biases are not whole modules to save; the trained LayerNorm is.
        Assert.Equal(["norm"], root.GetProperty("modules_to_save").EnumerateArray().Select(e => e.GetString()));
        Assert.True(root.GetProperty("train_biases").GetBoolean());
        Assert.True(root.GetProperty("inference_mode").GetBoolean());
        Assert.True(root.GetProperty("train_norms").GetBoolean());
        Assert.False(root.GetProperty("random_compression").GetBoolean());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoRA_and_DoRA_keys_are_PEFTs(bool dora)
    {
        using var model = new TinyNet();
        var attachment = Peft.Attach(model, model.Targets(), FakeMethod.LoRA(r: 2, dora));
        attachment.Save(dir.Path);

        var expected = new Dictionary<string, long[]>
        {
            ["base_model.model.fc1.lora_A.weight"] = [2, 4],
            ["base_model.model.fc1.lora_B.weight"] = [5, 2],
            ["base_model.model.fc2.lora_A.weight"] = [2, 5],
            ["base_model.model.fc2.lora_B.weight"] = [3, 2],
        };
        if (dora)
        {
            expected["base_model.model.fc1.lora_magnitude_vector"] = [5];
            expected["base_model.model.fc2.lora_magnitude_vector"] = [3];
        }
        Assert.Equal(expected, FileKeys(Path.Combine(dir.Path, AdapterFiles.WeightsFileName)));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName)));
        Assert.Equal("LORA", config.RootElement.GetProperty("peft_type").GetString());
        Assert.Equal(2, config.RootElement.GetProperty("r").GetInt32());
        Assert.Equal(dora, config.RootElement.GetProperty("use_dora").GetBoolean());
        Assert.Equal(JsonValueKind.Null, config.RootElement.GetProperty("modules_to_save").ValueKind);
    }

    [Fact]
    public void VeRA_shared_projections_are_saved_once_under_base_model_and_loaded_back()
    {
        using var source = new TinyNet();
        var saved = Peft.Attach(source, source.Targets(), FakeMethod.VeRA(r: 2));
        AdapterValues.Randomize(saved);
        source.SaveAdapters(dir.Path);

        Assert.Equal(new Dictionary<string, long[]>
        {
            ["base_model.model.fc1.vera_lambda_b"] = [5],
            ["base_model.model.fc1.vera_lambda_d"] = [2],
            ["base_model.model.fc2.vera_lambda_b"] = [3],
            ["base_model.model.fc2.vera_lambda_d"] = [2],
            ["base_model.vera_A"] = [2, 5],
            ["base_model.vera_B"] = [5, 2],
        }, FileKeys(Path.Combine(dir.Path, AdapterFiles.WeightsFileName)));

        using var target = new TinyNet();
        var loaded = Peft.Attach(target, target.Targets(), FakeMethod.VeRA(r: 2));
        target.LoadAdapters(dir.Path);
        Assert.Equal(AdapterValues.Snapshot(saved), AdapterValues.Snapshot(loaded));
        using var expected = Output(source);
        using var actual = Output(target);
        Assert.True(actual.eq(expected).all().item<bool>());
    }

    [Fact]
    public void Loading_into_a_model_it_does_not_fit_lists_every_bad_key_and_changes_nothing()
    {
        using var source = new TinyNet(hidden: 5);
        var saved = source.AttachForTest(new PeftOptions { Method = "OneLoRA", TrainNorms = true });
        AdapterValues.Randomize(saved);
        source.SaveAdapters(dir.Path);

        // Wider hidden layer (fc1 and norm mis-shaped) and the second layer known under another path.
        using var target = new TinyNet(hidden: 6, seed: 2);
        var attachment = Peft.Attach(target, target.Targets(secondPath: "fc3"), PeftMethods.Create(new PeftOptions { Method = "OneLoRA", TrainNorms = true }));
        AdapterValues.Randomize(attachment, seed: 11);
        var adaptersBefore = AdapterValues.Snapshot(attachment);
        var modelBefore = AdapterValues.Snapshot(target);

        var e = Assert.Throws<AdapterLoadException>(() => target.LoadAdapters(dir.Path));

        Assert.Equal(["base_model.model.fc3.onelora_b"], e.Missing);
        Assert.Equal(["base_model.model.fc2.onelora_b"], e.Unexpected);
        Assert.Equal(["base_model.model.fc1.onelora_b", "base_model.model.norm.bias", "base_model.model.norm.weight"], e.Mismatched.Select(m => m.Key));
        var fc1 = e.Mismatched[0];
        Assert.Equal([6L], fc1.ModelShape);
        Assert.Equal([5L], fc1.FileShape);
        foreach (var key in e.Missing.Concat(e.Unexpected).Concat(e.Mismatched.Select(m => m.Key)))
            Assert.Contains(key, e.Message);
        Assert.Contains("model F32[6], file F32[5]", e.Message);
        Assert.Contains("the model is unchanged", e.Message);
        Assert.Equal(adaptersBefore, AdapterValues.Snapshot(attachment));
        Assert.Equal(modelBefore, AdapterValues.Snapshot(target));
    }

    [Fact]
    public void One_bad_key_stops_every_good_key_from_loading()
    {
        using var source = new TinyNet();
        var saved = source.AttachForTest(new PeftOptions { Method = "OneLoRA", TrainNorms = true });
        AdapterValues.Randomize(saved);
        source.SaveAdapters(dir.Path);

        using var target = new TinyNet();
        var attachment = target.AttachForTest(new PeftOptions { Method = "OneLoRA", TrainNorms = false });
        var before = AdapterValues.Snapshot(attachment);

        var e = Assert.Throws<AdapterLoadException>(() => target.LoadAdapters(dir.Path));
        Assert.Equal(["base_model.model.norm.bias", "base_model.model.norm.weight"], e.Unexpected);
        Assert.Empty(e.Missing);
        Assert.Empty(e.Mismatched);
        Assert.Equal(before, AdapterValues.Snapshot(attachment));
        Assert.All(before.Values, v => Assert.All(v, x => Assert.Equal(0.0, x)));
    }

    [Fact]
    public void Peft_type_mismatch_names_both_types()
    {
        using var source = new TinyNet();
        source.AttachForTest(new PeftOptions { Method = "OneLoRA" });
        source.SaveAdapters(dir.Path);

        using var target = new TinyNet();
        Peft.Attach(target, target.Targets(), FakeMethod.LoRA(r: 2));
        var e = Assert.Throws<AdapterLoadException>(() => target.LoadAdapters(dir.Path));
        Assert.Contains("peft_type is 'ONELORA'", e.Message);
        Assert.Contains("LoRA has peft_type 'LORA'", e.Message);
        Assert.Equal(Path.Combine(dir.Path, AdapterFiles.ConfigFileName), e.FilePath);
    }

    [Fact]
    public void Loading_into_merged_adapters_asks_to_unmerge_first()
    {
        using var source = new TinyNet();
        source.AttachForTest(new PeftOptions { Method = "OneLoRA" });
        source.SaveAdapters(dir.Path);

        using var target = new TinyNet();
        var attachment = target.AttachForTest(new PeftOptions { Method = "OneLoRA" });
        attachment.Merge();
        var e = Assert.Throws<InvalidOperationException>(() => attachment.Load(dir.Path));
        Assert.Contains("merged", e.Message);
        Assert.Contains("Unmerge() first", e.Message);
    }

    [Fact]
    public void Missing_or_broken_config_is_reported_with_its_path()
    {
        using var model = new TinyNet();
        var attachment = model.AttachForTest(new PeftOptions { Method = "OneLoRA" });
        attachment.Save(dir.Path);
        var configPath = Path.Combine(dir.Path, AdapterFiles.ConfigFileName);

        File.WriteAllText(configPath, """{"target_modules": ["fc1"]}""");
        Assert.Contains("no string 'peft_type'", Assert.Throws<AdapterLoadException>(() => attachment.Load(dir.Path)).Message);
        File.WriteAllText(configPath, "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<AdapterLoadException>(() => attachment.Load(dir.Path)).Message);
        File.Delete(configPath);
        var missing = Assert.Throws<FileNotFoundException>(() => attachment.Load(dir.Path));
        Assert.Contains($"'{dir.Path}' has no adapter_config.json", missing.Message);
    }

    [Fact]
    public void Non_default_adapter_names_live_in_a_subfolder()
    {
        using var source = new TinyNet();
        var saved = source.AttachForTest(new PeftOptions { Method = "OneLoRA" });
        AdapterValues.Randomize(saved);
        source.SaveAdapters(dir.Path, adapterName: "fashion");

        Assert.True(File.Exists(Path.Combine(dir.Path, "fashion", AdapterFiles.WeightsFileName)));
        Assert.True(File.Exists(Path.Combine(dir.Path, "fashion", AdapterFiles.ConfigFileName)));
        Assert.False(File.Exists(Path.Combine(dir.Path, AdapterFiles.WeightsFileName)));

        using var target = new TinyNet();
        var loaded = target.AttachForTest(new PeftOptions { Method = "OneLoRA" });
        Assert.Throws<FileNotFoundException>(() => target.LoadAdapters(dir.Path));
        target.LoadAdapters(dir.Path, adapterName: "fashion");
        Assert.Equal(AdapterValues.Snapshot(saved), AdapterValues.Snapshot(loaded));
        Assert.Contains("plain folder name", Assert.Throws<ArgumentException>(() => source.SaveAdapters(dir.Path, adapterName: "../escape")).Message);
    }

    [Fact]
    public void Float32_file_loads_into_a_float64_model()
    {
        using var source = new TinyNet();
        var saved = source.AttachForTest(new PeftOptions { Method = "OneLoRA", TrainNorms = true });
        AdapterValues.Randomize(saved);
        source.SaveAdapters(dir.Path);

        using var target = new TinyNet();
        target.to(ScalarType.Float64);
        var loaded = target.AttachForTest(new PeftOptions { Method = "OneLoRA", TrainNorms = true });
        target.LoadAdapters(dir.Path);

        var b = loaded["fc1"].AdapterTensors().Single().Tensor;
        Assert.Equal(ScalarType.Float64, b.dtype);
        var expected = saved["fc1"].AdapterTensors().Single().Tensor.data<float>().Select(f => (double)f);
        Assert.Equal(expected, b.data<double>().ToArray());
    }

    [Fact]
    public void A_save_failing_midway_leaves_both_old_files_intact()
    {
        using var model = new TinyNet();
        var adapters = new List<FailingAdapter>();
        var attachment = Peft.Attach(model, model.Targets(), new FakeMethod("Failing", "FAILING", layers =>
        {
            adapters.AddRange(layers.Select(l => new FailingAdapter(l.Layer)));
            return adapters;
        }));
        attachment.Save(dir.Path);
        var weights = File.ReadAllBytes(Path.Combine(dir.Path, AdapterFiles.WeightsFileName));
        var config = File.ReadAllBytes(Path.Combine(dir.Path, AdapterFiles.ConfigFileName));

        adapters[1].FailMidway = true;
        Assert.Equal("adapter tensors failed midway", Assert.Throws<InvalidOperationException>(() => attachment.Save(dir.Path)).Message);

        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(dir.Path, AdapterFiles.WeightsFileName)));
        Assert.Equal(config, File.ReadAllBytes(Path.Combine(dir.Path, AdapterFiles.ConfigFileName)));
        Assert.Equal(2, Directory.GetFiles(dir.Path).Length);
    }
}

internal static class AttachForTestExtensions
{
    public static PeftAttachment AttachForTest(this TinyNet model, PeftOptions options) =>
        Peft.Attach(model, model.Targets(), PeftMethods.Create(options));
}
