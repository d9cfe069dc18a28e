using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Serialization;

/// <summary>fc1 (4→5) → LayerNorm → ReLU → fc2 (5→3), every parameter from a seeded generator.</summary>
internal sealed class PlainNet : nn.Module<Tensor, Tensor>
{
    public readonly Linear fc1;
    public readonly LayerNorm norm;
    public readonly Linear fc2;

    public PlainNet(ulong seed = 1) : base(nameof(PlainNet))
    {
        fc1 = nn.Linear(4, 5);
        norm = nn.LayerNorm(5);
        fc2 = nn.Linear(5, 3);
        RegisterComponents();
        using var g = new Generator(seed, device: CPU);
        using (no_grad())
            foreach (var p in parameters())
                p.copy_(randn(p.shape, generator: g));
    }

    public override Tensor forward(Tensor x) => fc2.call(nn.functional.relu(norm.call(fc1.call(x))));

    public static Tensor Input()
    {
        using var g = new Generator(7, device: CPU);
        return randn([6, 4], generator: g);
    }

    /// <summary>
    /// The same network computed by hand in float64 from this model's base weights plus explicit weight deltas and
    /// replaced parameters (by name): no call into the model or the adapters.
    /// </summary>
    public Tensor Reference(Dictionary<string, Tensor>? deltas = null, Dictionary<string, Tensor>? replaced = null)
    {
        Tensor P(string name)
        {
            var value = replaced is not null && replaced.TryGetValue(name, out var r) ? r : PeftAttachment.ParametersByName(this)[name];
            var d = value.detach().to(ScalarType.Float64);
            return deltas is not null && deltas.TryGetValue(name, out var delta) ? d + delta.to(ScalarType.Float64) : d;
        }
        using var x = Input().to(ScalarType.Float64);
        var h = x.matmul(P("fc1.weight").t()) + P("fc1.bias");
        var mean = h.mean([-1L], keepdim: true);
        var variance = (h - mean).pow(2).mean([-1L], keepdim: true);
        h = (h - mean) / (variance + 1e-5).sqrt() * P("norm.weight") + P("norm.bias");
        h = h.relu();
        return h.matmul(P("fc2.weight").t()) + P("fc2.bias");
    }

    public Tensor Output()
    {
        using var x = Input();
        using (no_grad()) return call(x).to(ScalarType.Float64);
    }
}

public sealed class FromPretrainedTests : IDisposable
{
    private readonly TempDirectory dir = new();

    static FromPretrainedTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => dir.Dispose();

    private static Tensor Noise(Generator g, params long[] shape) => randn(shape, generator: g);

    /// <summary>Writes a PEFT-layout LoRA directory by hand: the config text as given, A and B from a seeded generator.</summary>
    private Dictionary<string, Tensor> WriteLoRA(string config, int r1 = 2, int r2 = 2, Dictionary<string, Tensor>? extra = null)
    {
        using var g = new Generator(5, device: CPU);
        var tensors = new Dictionary<string, Tensor>
        {
            ["base_model.model.fc1.lora_A.weight"] = Noise(g, r1, 4),
            ["base_model.model.fc1.lora_B.weight"] = Noise(g, 5, r1),
            ["base_model.model.fc2.lora_A.weight"] = Noise(g, r2, 5),
            ["base_model.model.fc2.lora_B.weight"] = Noise(g, 3, r2),
        };
        foreach (var (k, v) in extra ?? []) tensors[k] = v;
        Safetensors.Save(Path.Combine(dir.Path, AdapterFiles.WeightsFileName), tensors.Select(kv => (kv.Key, kv.Value)).ToList());
        File.WriteAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName), config);
        return tensors;
    }

    private static Tensor Delta(Dictionary<string, Tensor> t, string layer, double scaling) =>
        t[$"base_model.model.{layer}.lora_B.weight"].to(ScalarType.Float64).matmul(t[$"base_model.model.{layer}.lora_A.weight"].to(ScalarType.Float64)) * scaling;

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance = 1e-4)
    {
        double diff = (expected - actual).abs().max().item<double>();
        Assert.True(diff < tolerance, $"max |difference| {diff} ≥ {tolerance}");
    }

    private static Dictionary<string, long[]> FileKeys(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, n));
        return header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .ToDictionary(p => p.Name, p => p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
    }

    [Theory]
    [InlineData(4.0, false, 2.0)]
    [InlineData(4.0, true, 2.8284271247461903)]
    [InlineData(1.0, false, 0.5)]
    public void Alpha_and_rslora_from_the_file_give_the_explicit_delta(double alpha, bool rslora, double scaling)
    {
        var t = WriteLoRA($$"""{"peft_type": "LORA", "r": 2, "lora_alpha": {{alpha}}, "use_rslora": {{(rslora ? "true" : "false")}}, "target_modules": ["fc1", "fc2"], "bias": "none"}""");
        using var model = new PlainNet();
        using var expected = model.Reference(new() { ["fc1.weight"] = Delta(t, "fc1", scaling), ["fc2.weight"] = Delta(t, "fc2", scaling) });

        var attachment = PeftModel.FromPretrained(model, dir.Path);

        Assert.Equal("LoRA", attachment.Method.Name);
        Assert.Equal(["fc1", "fc2"], attachment.Layers.Select(l => l.Path));
        AssertClose(expected, model.Output());
        attachment.Merge();
        AssertClose(expected, model.Output());
    }

    [Fact]
    public void Rank_and_alpha_patterns_set_each_layers_rank_and_scaling()
    {
        var t = WriteLoRA("""
            {"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["fc1", "fc2"],
             "rank_pattern": {"fc2": 1}, "alpha_pattern": {"fc1": 6}}
            """, r2: 1);
        using var model = new PlainNet();
        // fc1: r 2, alpha 6 → 3; fc2: r 1, alpha 2 → 2.
        using var expected = model.Reference(new() { ["fc1.weight"] = Delta(t, "fc1", 3.0), ["fc2.weight"] = Delta(t, "fc2", 2.0) });

        PeftModel.FromPretrained(model, dir.Path);

        AssertClose(expected, model.Output());
    }

    [Fact]
    public void DoRA_file_attaches_DoRA_with_the_magnitude_applied()
    {
        using var g = new Generator(9, device: CPU);
        var m1 = Noise(g, 5).abs() + 0.5;
        var m2 = Noise(g, 3).abs() + 0.5;
        var t = WriteLoRA("""{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "use_dora": true, "target_modules": ["fc1", "fc2"]}""",
            extra: new() { ["base_model.model.fc1.lora_magnitude_vector"] = m1, ["base_model.model.fc2.lora_magnitude_vector"] = m2 });
        using var model = new PlainNet();
        var w = PeftAttachment.ParametersByName(model);
        Tensor Dora(string layer, Tensor m)
        {
            var w0 = w[$"{layer}.weight"].detach().to(ScalarType.Float64);
            var adapted = w0 + Delta(t, layer, 1.0);
            return adapted * (m.to(ScalarType.Float64) / linalg.vector_norm(adapted, 2, [1L])).unsqueeze(1) - w0;
        }
        using var expected = model.Reference(new() { ["fc1.weight"] = Dora("fc1", m1), ["fc2.weight"] = Dora("fc2", m2) });

        var attachment = PeftModel.FromPretrained(model, dir.Path);

        Assert.Equal("DoRA", attachment.Method.Name);
        AssertClose(expected, model.Output());
    }

    [Fact]
    public void A_config_as_PEFT_0_17_writes_it_loads_with_its_modules_to_save()
    {
        using var g = new Generator(21, device: CPU);
        var normWeight = Noise(g, 5);
        var normBias = Noise(g, 5);
        // Every LoraConfig field PEFT 0.17 writes; SEQ_CLS adds "classifier" and "score", which this model lacks (ignored, as PEFT does).
        var t = WriteLoRA("""
            {
              "alora_invocation_tokens": null, "alpha_pattern": {}, "arrow_config": null, "auto_mapping": null,
              "base_model_name_or_path": null, "bias": "none", "corda_config": null, "ensure_weight_tying": false,
              "eva_config": null, "exclude_modules": null, "fan_in_fan_out": false, "inference_mode": true,
              "init_lora_weights": true, "layer_replication": null, "layers_pattern": null, "layers_to_transform": null,
              "loftq_config": {}, "lora_alpha": 8, "lora_bias": false, "lora_dropout": 0.0, "megatron_config": null,
              "megatron_core": "megatron.core", "modules_to_save": ["classifier", "score", "norm"], "peft_type": "LORA",
              "peft_version": "0.17.1", "qalora_group_size": 16, "r": 2, "rank_pattern": {}, "revision": null,
              "target_modules": ["fc2", "fc1"], "target_parameters": null, "task_type": "SEQ_CLS",
              "trainable_token_indices": null, "use_dora": false, "use_qalora": false, "use_rslora": false
            }
            """, extra: new() { ["base_model.model.norm.weight"] = normWeight, ["base_model.model.norm.bias"] = normBias });
        using var model = new PlainNet();
        using var expected = model.Reference(new() { ["fc1.weight"] = Delta(t, "fc1", 4.0), ["fc2.weight"] = Delta(t, "fc2", 4.0) },
            new() { ["norm.weight"] = normWeight, ["norm.bias"] = normBias });

        var attachment = PeftModel.FromPretrained(model, dir.Path);

        Assert.Equal(["norm.bias", "norm.weight"], attachment.ExtraTrainable.Select(e => e.Name).Order(StringComparer.Ordinal));
        AssertClose(expected, model.Output());
    }

    [Fact]
    public void A_VeRA_file_in_PEFTs_layout_gives_the_explicit_delta()
    {
        using var g = new Generator(31, device: CPU);
        var a = Noise(g, 2, 5);
        var b = Noise(g, 5, 2);
        var tensors = new Dictionary<string, Tensor>
        {
            ["base_model.vera_A"] = a,
            ["base_model.vera_B"] = b,
            ["base_model.model.fc1.vera_lambda_b"] = Noise(g, 5),
            ["base_model.model.fc1.vera_lambda_d"] = Noise(g, 2),
            ["base_model.model.fc2.vera_lambda_b"] = Noise(g, 3),
            ["base_model.model.fc2.vera_lambda_d"] = Noise(g, 2),
        };
        Safetensors.Save(Path.Combine(dir.Path, AdapterFiles.WeightsFileName), tensors.Select(kv => (kv.Key, kv.Value)).ToList());
        File.WriteAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName), """
            {"auto_mapping": null, "base_model_name_or_path": null, "bias": "none", "d_initial": 0.1, "fan_in_fan_out": false,
             "inference_mode": true, "init_weights": true, "layers_pattern": null, "layers_to_transform": null, "modules_to_save": null,
             "peft_type": "VERA", "projection_prng_key": 0, "r": 2, "revision": null, "save_projection": true,
             "target_modules": ["fc1", "fc2"], "task_type": null, "vera_dropout": 0.0}
            """);
        Tensor Delta(string layer, long d, long k) =>
            (tensors[$"base_model.model.{layer}.vera_lambda_b"].to(ScalarType.Float64).unsqueeze(1) * b.to(ScalarType.Float64)[..(int)d])
            .matmul(tensors[$"base_model.model.{layer}.vera_lambda_d"].to(ScalarType.Float64).unsqueeze(1) * a.to(ScalarType.Float64)[.., ..(int)k]);
        using var model = new PlainNet();
        using var expected = model.Reference(new() { ["fc1.weight"] = Delta("fc1", 5, 4), ["fc2.weight"] = Delta("fc2", 3, 5) });

        var attachment = PeftModel.FromPretrained(model, dir.Path);

        Assert.Equal("VeRA", attachment.Method.Name);
        AssertClose(expected, model.Output());
        attachment.Merge();
        AssertClose(expected, model.Output());
    }

    [Fact]
    public void Not_trainable_by_default_frozen_and_in_eval_mode_trainable_when_asked()
    {
        WriteLoRA("""{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["fc1", "fc2"]}""");
        using var frozen = new PlainNet();
        var a = PeftModel.FromPretrained(frozen, dir.Path);
        Assert.Empty(a.TrainableParameters());
        Assert.False(frozen.training);
        Assert.All(frozen.parameters(), p => Assert.False(p.requires_grad));

        using var trainable = new PlainNet();
        var b = PeftModel.FromPretrained(trainable, dir.Path, isTrainable: true);
        Assert.Equal(4, b.TrainableParameters().Count());
        Assert.Equal(["fc1_lora.A", "fc1_lora.B", "fc2_lora.A", "fc2_lora.B"], b.NamedTrainableParameters().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Regex_targets_exclude_modules_and_all_linear_select_as_PEFT_does()
    {
        WriteLoRA("""{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": "fc[12]"}""");
        using (var model = new PlainNet())
            Assert.Equal(["fc1", "fc2"], PeftModel.FromPretrained(model, dir.Path).Layers.Select(l => l.Path));

        // all-linear on a plain (non-transformers) model is every Linear; exclude_modules removes fc2, whose keys then do not fit.
        File.WriteAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName),
            """{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": "all-linear", "exclude_modules": ["fc2"]}""");
        Assert.Equal("LoRA", AdapterFiles.ReadOptions(dir.Path).Method);
        using var other = new PlainNet();
        var e = Assert.Throws<AdapterLoadException>(() => PeftModel.FromPretrained(other, dir.Path));
        Assert.Equal(["base_model.model.fc2.lora_A.weight", "base_model.model.fc2.lora_B.weight"], e.Unexpected);
    }

    [Fact]
    public void Unsupported_fields_with_a_non_default_value_are_refused_by_name_before_anything_is_attached()
    {
        foreach (var (field, value) in new[] { ("fan_in_fan_out", "true"), ("use_mora", "true"), ("init_lora_weights", "\"pissa\""), ("some_future_option", "3") })
        {
            WriteLoRA($$"""{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["fc1", "fc2"], "{{field}}": {{value}}}""");
            using var model = new PlainNet();
            var e = Assert.Throws<AdapterLoadException>(() => PeftModel.FromPretrained(model, dir.Path));
            Assert.Contains($"field '{field}' = {value} is not supported", e.Message);
            Assert.Null(Peft.AttachmentFor(model));
        }
        // Default values of those fields, and PEFT's bookkeeping fields, are accepted.
        WriteLoRA("""{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["fc1", "fc2"], "fan_in_fan_out": false, "some_future_option": null, "init_lora_weights": true, "peft_version": "0.17.0", "megatron_core": "megatron.core", "layer_replication": null}""");
        using var ok = new PlainNet();
        Assert.Equal(2, PeftModel.FromPretrained(ok, dir.Path).Layers.Count);
    }

    [Fact]
    public void ReadOptions_gives_the_method_and_every_option()
    {
        WriteLoRA("""{"peft_type": "LORA", "r": 3, "lora_alpha": 5, "use_rslora": true, "lora_dropout": 0.1, "bias": "lora_only", "target_modules": ["fc1", "fc2"], "modules_to_save": ["norm"], "layers_to_transform": 2, "layers_pattern": "layers", "rank_pattern": {"fc2": 1}}""");
        var o = AdapterFiles.ReadOptions(dir.Path);
        Assert.Equal(("LoRA", 3, 5.0, true, 0.1, true, false), (o.Method, o.Rank, o.Alpha, o.UseRsLoRA, o.Dropout, o.TrainBiases, o.TrainAllBiases));
        Assert.Equal(("fc1;*.fc1;fc2;*.fc2", "norm", "layers"), (o.Targets, o.ModulesToSave, o.LayersPattern));
        Assert.Equal([2], o.LayersToTransform);
        Assert.Equal(new Dictionary<string, int> { ["fc2"] = 1 }, o.RankPattern);
    }

    public static IEnumerable<object[]> Mismatches =>
    [
        ["LoRA alpha", new PeftOptions { Method = "LoRA", Rank = 2, Alpha = 4 }, new PeftOptions { Method = "LoRA", Rank = 2, Alpha = 2 }, "field 'lora_alpha': the file has 4, the attached LoRA has 2."],
        ["rsLoRA", new PeftOptions { Method = "LoRA", Rank = 2, UseRsLoRA = true }, new PeftOptions { Method = "LoRA", Rank = 2 }, "field 'use_rslora': the file has true, the attached LoRA has false."],
        ["DoRA", new PeftOptions { Method = "DoRA", Rank = 2 }, new PeftOptions { Method = "LoRA", Rank = 2 }, "field 'use_dora': the file has true, the attached LoRA has false."],
        ["rank pattern", new PeftOptions { Method = "LoRA", Rank = 2, RankPattern = new() { ["fc2"] = 2 } }, new PeftOptions { Method = "LoRA", Rank = 2 }, "field 'rank_pattern': the file has {\"fc2\":2}, the attached LoRA has {}."],
        ["alpha pattern", new PeftOptions { Method = "LoRA", Rank = 2, AlphaPattern = new() { ["fc1"] = 8 } }, new PeftOptions { Method = "LoRA", Rank = 2 }, "field 'alpha_pattern'"],
        ["rank", new PeftOptions { Method = "LoRA", Rank = 3, Alpha = 2 }, new PeftOptions { Method = "LoRA", Rank = 2, Alpha = 2 }, "field 'r': the file has 3, the attached LoRA has 2."],
        ["VeRA d_initial", new PeftOptions { Method = "VeRA", Rank = 2, VeRADInitial = 0.5 }, new PeftOptions { Method = "VeRA", Rank = 2 }, "field 'd_initial': the file has 0.5, the attached VeRA has 0.1."],
        ["VeRA key", new PeftOptions { Method = "VeRA", Rank = 2, ProjectionPrngKey = 7 }, new PeftOptions { Method = "VeRA", Rank = 2 }, "field 'projection_prng_key': the file has 7, the attached VeRA has 0."],
        ["MoRA type", new PeftOptions { Method = "MoRA", MoRAType = 6 }, new PeftOptions { Method = "MoRA", MoRAType = 1 }, "field 'mora_type': the file has 6, the attached MoRA1 has 1."],
        ["MoRA rule", new PeftOptions { Method = "MoRA", MoRARankRule = MoRARankRule.MoRA }, new PeftOptions { Method = "MoRA" }, "field 'mora_rank_rule': the file has \"MoRA\", the attached MoRA1 has \"Paper\"."],
        ["1LoRA random", new PeftOptions { Method = "OneLoRA", RandomCompression = true }, new PeftOptions { Method = "OneLoRA" }, "field 'random_compression': the file has true, the attached OneLoRA has false."],
        ["1LoRA seed", new PeftOptions { Method = "OneLoRA", RandomCompression = true, CompressionSeed = 3 }, new PeftOptions { Method = "OneLoRA", RandomCompression = true }, "field 'compression_seed': the file has 3, the attached OneLoRA has 0."],
        ["1LoRA scale", new PeftOptions { Method = "OneLoRA", TrainScale = true }, new PeftOptions { Method = "OneLoRA" }, "field 'train_scale': the file has true, the attached OneLoRA has false."],
        ["bias", new PeftOptions { Method = "LoRA", Rank = 2, TrainBiases = true }, new PeftOptions { Method = "LoRA", Rank = 2 }, "field 'bias': the file has \"lora_only\", the attached LoRA has \"none\"."],
        ["targets", new PeftOptions { Method = "LoRA", Rank = 2, Targets = "fc1" }, new PeftOptions { Method = "LoRA", Rank = 2 }, "field 'target_modules' = [\"fc1\"] selects [fc1] on this model, but the attached LoRA adapters are on [fc1, fc2]."],
        ["modules to save", new PeftOptions { Method = "LoRA", Rank = 2, TrainNorms = true }, new PeftOptions { Method = "LoRA", Rank = 2 }, "field 'modules_to_save' names [norm] on this model, but the attachment trains none in full."],
    ];

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void Every_math_changing_mismatch_is_refused_naming_field_and_both_values_and_nothing_changes(string what, PeftOptions file, PeftOptions attached, string message)
    {
        using (var source = new PlainNet())
        {
            var saved = PeftModel.Attach(source, file);
            AdapterValues.Randomize(saved);
            source.SaveAdapters(dir.Path);
        }
        using var target = new PlainNet(seed: 2);
        var attachment = PeftModel.Attach(target, attached);
        AdapterValues.Randomize(attachment, seed: 11);
        var before = AdapterValues.Snapshot(target);

        var e = Assert.Throws<AdapterLoadException>(() => target.LoadAdapters(dir.Path));

        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{what}: '{message}' not in: {e.Message}");
        Assert.Equal(before, AdapterValues.Snapshot(target));
    }

    [Fact]
    public void MoRA_weights_are_refused_by_a_model_of_another_width_with_the_same_rank_hat()
    {
        // d = 5 and d = 6 both give r̂ = ⌊√d⌋ = 2, so M has the same shape; the recorded layer widths differ.
        using (var source = new TinyNet(hidden: 5))
        {
            var saved = Peft.Attach(source, source.Targets(), PeftMethods.Create(new PeftOptions { Method = "MoRA" }));
            AdapterValues.Randomize(saved);
            source.SaveAdapters(dir.Path);
        }
        using var target = new TinyNet(hidden: 6);
        var attachment = Peft.Attach(target, target.Targets(), PeftMethods.Create(new PeftOptions { Method = "MoRA" }));
        var before = AdapterValues.Snapshot(target);
        var e = Assert.Throws<AdapterLoadException>(() => target.LoadAdapters(dir.Path));
        Assert.Contains("field 'mora_layer_features': the file has {\"fc1\":[4,5],\"fc2\":[5,3]}, the attached MoRA1 has {\"fc1\":[4,6],\"fc2\":[6,3]}.", e.Message);
        Assert.Equal(before, AdapterValues.Snapshot(target));
        Assert.Equal(attachment.Layers.Select(l => l.Adapter), target.Adapters().Layers.Select(l => l.Adapter));
    }

    [Theory]
    [InlineData("LoRA")]
    [InlineData("VeRA")]
    public void Trained_biases_use_PEFTs_base_layer_key_and_the_config_only_PEFTs_fields(string method)
    {
        using var model = new PlainNet();
        PeftModel.Attach(model, new PeftOptions { Method = method, Rank = 2, TrainBiases = true, TrainNorms = true });
        model.SaveAdapters(dir.Path);

        var keys = FileKeys(Path.Combine(dir.Path, AdapterFiles.WeightsFileName)).Keys.ToList();
        Assert.Contains("base_model.model.fc1.base_layer.bias", keys);
        Assert.Contains("base_model.model.fc2.base_layer.bias", keys);
        Assert.Contains("base_model.model.norm.weight", keys);
        Assert.DoesNotContain("base_model.model.fc1.bias", keys);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName)));
        var names = config.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.DoesNotContain(names, n => n.StartsWith("train_", StringComparison.Ordinal));
        Assert.Equal(method == "LoRA" ? "lora_only" : "vera_only", config.RootElement.GetProperty("bias").GetString());
        Assert.Equal(["norm"], config.RootElement.GetProperty("modules_to_save").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Bias_all_trains_and_saves_every_bias_under_PEFTs_keys_and_round_trips()
    {
        using var source = new PlainNet();
        var saved = PeftModel.Attach(source, new PeftOptions { Method = "LoRA", Rank = 2, Targets = "fc1", TrainAllBiases = true });
        Assert.Equal(["fc1.bias", "fc2.bias", "norm.bias"], saved.ExtraTrainable.Select(e => e.Name).Order(StringComparer.Ordinal));
        AdapterValues.Randomize(saved);
        using var expected = source.Output();
        source.SaveAdapters(dir.Path);

        Assert.Equal(["base_model.model.fc1.base_layer.bias", "base_model.model.fc1.lora_A.weight", "base_model.model.fc1.lora_B.weight",
            "base_model.model.fc2.bias", "base_model.model.norm.bias"], FileKeys(Path.Combine(dir.Path, AdapterFiles.WeightsFileName)).Keys.Order(StringComparer.Ordinal));
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName))))
        {
            Assert.Equal("all", config.RootElement.GetProperty("bias").GetString());
            Assert.Equal(JsonValueKind.Null, config.RootElement.GetProperty("modules_to_save").ValueKind);
        }

        using var target = new PlainNet();
        PeftModel.FromPretrained(target, dir.Path);
        Assert.True(target.Output().eq(expected).all().item<bool>());
    }

    [Fact]
    public void Older_files_with_the_bias_under_the_layer_key_still_load()
    {
        using var source = new PlainNet();
        var saved = PeftModel.Attach(source, new PeftOptions { Method = "LoRA", Rank = 2, TrainBiases = true });
        AdapterValues.Randomize(saved);
        using var expected = source.Output();
        var tensors = saved.AdapterStateDict().Select(kv => (kv.Key.Replace(".base_layer.bias", ".bias"), kv.Tensor)).ToList();
        Safetensors.Save(Path.Combine(dir.Path, AdapterFiles.WeightsFileName), tensors);
        File.WriteAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName),
            """{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["fc1", "fc2"], "bias": "lora_only", "train_biases": true, "train_norms": false, "train_scale": false}""");

        using var target = new PlainNet();
        PeftModel.FromPretrained(target, dir.Path);
        Assert.True(target.Output().eq(expected).all().item<bool>());
    }

    [Theory]
    [InlineData("LoRA")]
    [InlineData("DoRA")]
    [InlineData("VeRA")]
    public void TrainScale_is_refused_at_save_for_PEFT_types(string method)
    {
        using var model = new PlainNet();
        PeftModel.Attach(model, new PeftOptions { Method = method, Rank = 2, TrainScale = true });
        var e = Assert.Throws<InvalidOperationException>(() => model.SaveAdapters(dir.Path));
        Assert.Contains("PEFT has no per-layer scale γ (scale_gamma on fc1, fc2)", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void VeRA_without_saved_projections_regenerates_them_and_equals_the_file_with_them()
    {
        using var source = new PlainNet();
        var saved = PeftModel.Attach(source, new PeftOptions { Method = "VeRA", Rank = 3, ProjectionPrngKey = 42, VeRASaveProjection = false });
        // λ_b and λ_d only: the projections must stay the ones the key draws.
        using (var g = new Generator(3, device: CPU))
        using (no_grad())
            foreach (var l in saved.Layers)
                foreach (var (_, t) in l.Adapter.AdapterTensors())
                    t.copy_(randn(t.shape, generator: g));
        using var expected = source.Output();
        var withDir = Path.Combine(dir.Path, "with");
        source.SaveAdapters(dir.Path);
        Assert.DoesNotContain("base_model.vera_A", FileKeys(Path.Combine(dir.Path, AdapterFiles.WeightsFileName)).Keys);

        // The same adapter with projections, written by hand from the regenerated values.
        Directory.CreateDirectory(withDir);
        Safetensors.Save(Path.Combine(withDir, AdapterFiles.WeightsFileName), saved.AdapterStateDict().ToList());
        File.WriteAllText(Path.Combine(withDir, AdapterFiles.ConfigFileName),
            File.ReadAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName)).Replace("\"save_projection\": false", "\"save_projection\": true"));

        using var without = new PlainNet();
        PeftModel.FromPretrained(without, dir.Path);
        using var with = new PlainNet();
        PeftModel.FromPretrained(with, withDir);
        Assert.True(without.Output().eq(expected).all().item<bool>());
        Assert.True(with.Output().eq(expected).all().item<bool>());
    }

    [Fact]
    public void Modules_to_save_are_trained_in_full_never_adapted_and_saved_under_their_own_keys()
    {
        using var source = new PlainNet();
        var saved = PeftModel.Attach(source, new PeftOptions { Method = "LoRA", Rank = 2, Targets = "all-linear", ModulesToSave = "fc2" });
        Assert.Equal(["fc1"], saved.Layers.Select(l => l.Path));
        Assert.Equal(["fc2.bias", "fc2.weight"], saved.ExtraTrainable.Select(e => e.Name).Order(StringComparer.Ordinal));
        AdapterValues.Randomize(saved);
        using var expected = source.Output();
        source.SaveAdapters(dir.Path);
        Assert.Equal(["base_model.model.fc1.lora_A.weight", "base_model.model.fc1.lora_B.weight", "base_model.model.fc2.bias", "base_model.model.fc2.weight"],
            FileKeys(Path.Combine(dir.Path, AdapterFiles.WeightsFileName)).Keys.Order(StringComparer.Ordinal));

        using var target = new PlainNet();
        var loaded = PeftModel.FromPretrained(target, dir.Path, isTrainable: true);
        Assert.Equal(["fc1"], loaded.Layers.Select(l => l.Path));
        Assert.True(target.Output().eq(expected).all().item<bool>());
        Assert.Contains(loaded.NamedTrainableParameters(), p => p.Name == "fc2.weight");
    }

    public static IEnumerable<object[]> MethodNames => PeftMethods.Names.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(MethodNames))]
    public void Every_method_saved_with_its_combinations_comes_back_through_FromPretrained(string method)
    {
        using var source = new PlainNet();
        var saved = PeftModel.Attach(source, new PeftOptions { Method = method, Rank = 2, Alpha = 3, TrainNorms = true, TrainBiases = true });
        AdapterValues.Randomize(saved);
        using var expected = source.Output();
        source.SaveAdapters(dir.Path);

        using var target = new PlainNet(seed: 1);
        var loaded = PeftModel.FromPretrained(target, dir.Path);

        Assert.Equal(saved.Method.Name, loaded.Method.Name);
        Assert.Equal(saved.Layers.Select(l => l.Path), loaded.Layers.Select(l => l.Path));
        Assert.Equal(saved.ExtraTrainable.Select(e => e.Name).Order(StringComparer.Ordinal), loaded.ExtraTrainable.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.True(target.Output().eq(expected).all().item<bool>(), $"{method}: FromPretrained outputs differ from the saved model's.");
    }

    [Fact]
    public void A_file_that_selects_no_layer_is_refused_before_attaching()
    {
        WriteLoRA("""{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["q_proj"]}""");
        using var model = new PlainNet();
        var e = Assert.Throws<AdapterLoadException>(() => PeftModel.FromPretrained(model, dir.Path));
        Assert.Contains("target_modules [\"q_proj\"] selects no Linear layer of PlainNet. Linear layers: fc1, fc2.", e.Message);
        Assert.Null(Peft.AttachmentFor(model));
    }
}
