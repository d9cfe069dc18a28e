using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA.Targeting;

namespace OneLoRA.Serialization;

/// <summary>
/// A parsed <c>adapter_config.json</c>: maps PEFT's fields (and ours for the methods PEFT lacks) to <see cref="PeftOptions"/>
/// and a <see cref="PeftTargets"/> rule. Fields that would change the math and that we do not implement are refused by
/// name when they hold a non-default value; fields that only steer PEFT's initialisation or hardware are accepted.
/// </summary>
internal sealed class AdapterConfig
{
    private const long MaxConfigBytes = 16 << 20;

    // Fields every PEFT config has that never change the adapter's math.
    private static readonly HashSet<string> BaseFields = new(StringComparer.Ordinal)
    {
        "peft_type", "task_type", "inference_mode", "base_model_name_or_path", "revision", "auto_mapping", "peft_version",
    };

    // Our combination flags, kept in our own types' configs (and read back from older LORA/VERA files we wrote).
    private static readonly string[] CombinationFields = ["train_norms", "train_biases", "train_scale"];

    // Fields of PEFT's LoraConfig/VeraConfig that steer initialisation, hardware or loading only: any value is accepted.
    private static readonly HashSet<string> Harmless = new(StringComparer.Ordinal)
    {
        "megatron_core", "qalora_group_size", "runtime_config", "init_weights",
    };

    // Fields (PEFT's and anyone's) whose default we accept and whose other values we refuse, with the default written out.
    private static readonly Dictionary<string, string> MustBeDefault = new(StringComparer.Ordinal)
    {
        ["fan_in_fan_out"] = "false",
        ["megatron_config"] = "null",
        ["loftq_config"] = "{}",
        ["eva_config"] = "null",
        ["corda_config"] = "null",
        ["use_qalora"] = "false",
        ["layer_replication"] = "null",
        ["lora_bias"] = "false",
        ["target_parameters"] = "null",
        ["trainable_token_indices"] = "null",
        ["alora_invocation_tokens"] = "null",
        ["arrow_config"] = "null",
        ["ensure_weight_tying"] = "false",
        ["use_mora"] = "false",
    };

    private readonly JsonElement root;

    private AdapterConfig(string path, JsonElement root)
    {
        Path = path;
        this.root = root;
        PeftType = root.GetProperty("peft_type").GetString()!;
    }

    /// <summary>The config file.</summary>
    public string Path { get; }

    /// <summary><c>peft_type</c>.</summary>
    public string PeftType { get; }

    /// <summary>The field's value, or null when the file lacks it.</summary>
    public JsonElement? this[string key] => root.TryGetProperty(key, out var v) ? v : null;

    /// <summary>Every field name in the file, in file order.</summary>
    public IEnumerable<string> Keys => root.EnumerateObject().Select(p => p.Name);

    /// <summary>Reads and checks the config: size, UTF-8, no duplicate keys, an object with a string <c>peft_type</c>.</summary>
    /// <exception cref="AdapterLoadException">Any of those fails.</exception>
    public static AdapterConfig Read(string configPath)
    {
        if (new FileInfo(configPath).Length > MaxConfigBytes)
            throw new AdapterLoadException(configPath, $"the config is larger than {MaxConfigBytes} bytes; not an adapter config.");
        // UTF-8 and duplicate keys are checked too (StrictJson): System.Text.Json would throw untyped or keep the last.
        using var document = StrictJson.Parse(File.ReadAllBytes(configPath), problem => new AdapterLoadException(configPath, problem));
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new AdapterLoadException(configPath, $"the config is a JSON {document.RootElement.ValueKind}, expected an object.");
        if (!document.RootElement.TryGetProperty("peft_type", out var type) || type.ValueKind != JsonValueKind.String)
            throw new AdapterLoadException(configPath, "the config has no string 'peft_type'; it is required to check the adapter matches the attached method.");
        return new AdapterConfig(configPath, document.RootElement.Clone());
    }

    /// <summary>
    /// The method and every option the file states. PEFT's defaults fill absent PEFT fields (LoraConfig r = 8,
    /// lora_alpha = 8; VeraConfig r = 256, d_initial = 0.1, projection_prng_key = 0).
    /// </summary>
    /// <exception cref="AdapterLoadException">An unknown peft_type, a field we do not implement holding a non-default value, or a field of the wrong type.</exception>
    public PeftOptions ToOptions()
    {
        var o = new PeftOptions();
        var known = new HashSet<string>(BaseFields, StringComparer.Ordinal)
        {
            "target_modules", "exclude_modules", "modules_to_save", "layers_to_transform", "layers_pattern",
        };
        known.UnionWith(CombinationFields);
        string? bias = null;
        switch (PeftType)
        {
            case "LORA":
                known.UnionWith(["r", "lora_alpha", "use_rslora", "use_dora", "lora_dropout", "rank_pattern", "alpha_pattern", "bias", "init_lora_weights"]);
                o.Method = Bool("use_dora") ?? false ? "DoRA" : "LoRA";
                o.Rank = Int("r") ?? 8;
                o.Alpha = Number("lora_alpha") ?? 8;
                o.UseRsLoRA = Bool("use_rslora") ?? false;
                o.Dropout = Number("lora_dropout") ?? 0;
                o.RankPattern = IntMap("rank_pattern");
                o.AlphaPattern = NumberMap("alpha_pattern");
                bias = String("bias") ?? "none";
                RequireIn("bias", bias, "none", "lora_only", "all");
                // Only PEFT's own initialisations leave the base weights alone; PiSSA/OLoRA/LoftQ/EVA/CorDA change W0 at init.
                if (this["init_lora_weights"] is { } init && init.ValueKind != JsonValueKind.True && init.ValueKind != JsonValueKind.False
                    && !(init.ValueKind == JsonValueKind.String && init.GetString() is "gaussian"))
                    throw Unsupported("init_lora_weights", init, "true, false or \"gaussian\" (other initialisations change the base weights, which this file does not hold)");
                break;
            case "VERA":
                known.UnionWith(["r", "projection_prng_key", "save_projection", "vera_dropout", "d_initial", "bias"]);
                o.Method = "VeRA";
                o.Rank = Int("r") ?? 256;
                o.ProjectionPrngKey = Long("projection_prng_key") ?? 0;
                o.VeRASaveProjection = Bool("save_projection") ?? true;
                o.Dropout = Number("vera_dropout") ?? 0;
                o.VeRADInitial = Number("d_initial") ?? 0.1;
                bias = String("bias") ?? "none";
                RequireIn("bias", bias, "none", "vera_only", "all");
                break;
            case "ONELORA":
                known.UnionWith(["random_compression", "compression_seed"]);
                o.Method = "OneLoRA";
                o.RandomCompression = Bool("random_compression") ?? false;
                o.CompressionSeed = Long("compression_seed") ?? 0;
                break;
            case "MORA":
                known.UnionWith(["r", "use_mora", "mora_type", "mora_rank_rule", "lora_dropout", AdapterFiles.MoRALayerFeatures]);
                o.Method = "MoRA";
                o.Rank = Int("r") ?? 1;
                o.MoRAType = Int("mora_type") ?? 1;
                var rule = String("mora_rank_rule") ?? nameof(MoRARankRule.Paper);
                if (!Enum.TryParse<MoRARankRule>(rule, ignoreCase: false, out var parsed) || !Enum.IsDefined(parsed))
                    throw Invalid("mora_rank_rule", this["mora_rank_rule"]!.Value, $"one of {string.Join(", ", Enum.GetNames<MoRARankRule>())}");
                o.MoRARankRule = parsed;
                o.Dropout = Number("lora_dropout") ?? 0;
                break;
            case "BITFIT": o.Method = "BitFit"; break;
            case "DIFFFIT": o.Method = "DiffFit"; break;
            case "FULL": o.Method = "Full"; break;
            case "NONE": o.Method = "None"; break;
            default:
                throw new AdapterLoadException(Path,
                    $"peft_type '{PeftType}' is not supported; supported: LORA (LoRA, DoRA with use_dora), VERA, ONELORA, MORA, BITFIT, DIFFFIT, FULL, NONE.");
        }

        o.TrainNorms = Bool("train_norms") ?? false;
        o.TrainBiases = (Bool("train_biases") ?? false) || bias is "lora_only" or "vera_only" or "all";
        o.TrainAllBiases = bias == "all";
        o.TrainScale = Bool("train_scale") ?? false;
        o.ModulesToSave = string.Join(";", StringList("modules_to_save") ?? []);
        o.LayersToTransform = IntListOrOne("layers_to_transform");
        o.LayersPattern = string.Join(";", StringListOrOne("layers_pattern"));
        var (targets, regex) = TargetField("target_modules", required: true);
        o.Targets = regex
            ? (string.Equals(targets[0], PeftTargets.AllLinear, StringComparison.OrdinalIgnoreCase) ? PeftTargets.AllLinear : PeftModel.RegexPrefix + targets[0])
            : string.Join(";", targets.SelectMany(t => new[] { t, "*." + t }));
        var (exclude, excludeRegex) = TargetField("exclude_modules", required: false);
        o.Exclude = exclude.Count == 0 ? "" : excludeRegex ? PeftModel.RegexPrefix + exclude[0] : string.Join(";", exclude.SelectMany(t => new[] { t, "*." + t }));

        foreach (var property in root.EnumerateObject())
        {
            var (key, value) = (property.Name, property.Value);
            if (known.Contains(key) || Harmless.Contains(key)) continue;
            if (MustBeDefault.TryGetValue(key, out var expected))
            {
                if (!IsEmpty(value)) throw Unsupported(key, value, expected);
                continue;
            }
            // A field nobody here knows: harmless only when it says nothing.
            if (!IsEmpty(value))
                throw Unsupported(key, value, "absent, null, false or empty (the field is unknown here and may change the adapter's math)");
        }
        return o;
    }

    /// <summary>The PEFT target rule of the file (target_modules, exclude_modules, modules_to_save, layers_to_transform, layers_pattern).</summary>
    public PeftTargets Targets()
    {
        var (targets, regex) = TargetField("target_modules", required: true);
        var (exclude, excludeRegex) = TargetField("exclude_modules", required: false);
        try
        {
            return PeftTargets.Create(targets, regex, exclude, excludeRegex, StringList("modules_to_save") ?? [],
                IntListOrOne("layers_to_transform"), StringListOrOne("layers_pattern"));
        }
        catch (ArgumentException e)
        {
            throw new AdapterLoadException(Path, e.Message);
        }
    }

    /// <summary>True when the value is JSON null, false, an empty array/object/string or 0 — PEFT's "off" for an unknown field.</summary>
    internal static bool IsEmpty(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.False or JsonValueKind.Undefined => true,
        JsonValueKind.Array => v.GetArrayLength() == 0,
        JsonValueKind.Object => !v.EnumerateObject().Any(),
        JsonValueKind.String => v.GetString()!.Length == 0,
        _ => false,
    };

    private (IReadOnlyList<string> Values, bool Regex) TargetField(string key, bool required)
    {
        var v = this[key];
        if (v is null || v.Value.ValueKind == JsonValueKind.Null)
        {
            if (required)
                throw new AdapterLoadException(Path,
                    $"'{key}' is null; PEFT then picks targets by transformers model type, which a TorchSharp model has none of. List the layers, give a regex, or \"all-linear\".");
            return ([], false);
        }
        if (v.Value.ValueKind == JsonValueKind.String) return ([v.Value.GetString()!], true);
        return (StringList(key)!, false);
    }

    private AdapterLoadException Unsupported(string key, JsonElement value, string expected) =>
        new(Path, $"field '{key}' = {Raw(value)} is not supported (peft_type {PeftType}); expected {expected}. Nothing was attached or loaded.");

    private AdapterLoadException Invalid(string key, JsonElement value, string expected) =>
        new(Path, $"field '{key}' = {Raw(value)} is invalid; expected {expected}.");

    /// <summary>The value as compact JSON (for messages), cut at 200 characters.</summary>
    internal static string Raw(JsonElement value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            value.WriteTo(writer);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        return text.Length > 200 ? text[..200] + "…" : text;
    }

    private void RequireIn(string key, string value, params string[] allowed)
    {
        if (!allowed.Contains(value, StringComparer.Ordinal))
            throw Invalid(key, this[key]!.Value, $"one of {string.Join(", ", allowed.Select(a => $"\"{a}\""))} for peft_type {PeftType}");
    }

    private JsonElement? Present(string key) => this[key] is { ValueKind: not JsonValueKind.Null } v ? v : null;

    private bool? Bool(string key) => Present(key) is { } v
        ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw Invalid(key, v, "true or false") }
        : null;

    private string? String(string key) => Present(key) is { } v
        ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Invalid(key, v, "a string")
        : null;

    private double? Number(string key) => Present(key) is { } v
        ? v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) ? d : throw Invalid(key, v, "a finite number")
        : null;

    private long? Long(string key) => Present(key) is { } v
        ? v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var l) ? l : throw Invalid(key, v, "an integer")
        : null;

    private int? Int(string key) => Present(key) is { } v
        ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Invalid(key, v, "an integer")
        : null;

    private List<string>? StringList(string key)
    {
        if (Present(key) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String || e.GetString()!.Length == 0))
            throw Invalid(key, v, "a list of non-empty strings");
        return v.EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    private List<string> StringListOrOne(string key) =>
        Present(key) is { ValueKind: JsonValueKind.String } v ? [v.GetString()!] : StringList(key) ?? [];

    private int[] IntListOrOne(string key)
    {
        if (Present(key) is not { } v) return [];
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var one)) return [one];
        if (v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _)))
            return v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        throw Invalid(key, v, "an integer or a list of integers");
    }

    private Dictionary<string, int> IntMap(string key)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (Present(key) is not { } v) return result;
        if (v.ValueKind != JsonValueKind.Object) throw Invalid(key, v, "an object of pattern → integer");
        foreach (var p in v.EnumerateObject())
            result[p.Name] = p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var i) ? i
                : throw Invalid($"{key}.{p.Name}", p.Value, "an integer");
        return result;
    }

    private Dictionary<string, double> NumberMap(string key)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (Present(key) is not { } v) return result;
        if (v.ValueKind != JsonValueKind.Object) throw Invalid(key, v, "an object of pattern → number");
        foreach (var p in v.EnumerateObject())
            result[p.Name] = p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetDouble(out var d) && double.IsFinite(d) ? d
                : throw Invalid($"{key}.{p.Name}", p.Value, "a finite number");
        return result;
    }

    /// <summary>A value formatted for messages: JSON text, numbers in invariant culture.</summary>
    internal static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => $"\"{s}\"",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
