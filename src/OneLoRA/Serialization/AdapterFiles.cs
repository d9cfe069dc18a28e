using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using OneLoRA.Serialization;
using OneLoRA.Targeting;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Adapter files in HF PEFT's layout: <c>adapter_model.safetensors</c> (metadata <c>{"format": "pt"}</c>) and
/// <c>adapter_config.json</c> (sorted keys, indent 2). Keys of the tensor file:
/// <list type="bullet">
/// <item><c>base_model.model.&lt;layer path&gt;.&lt;adapter key&gt;</c> for each adapter's <see cref="LinearAdapter.AdapterTensors"/>
/// (e.g. <c>base_model.model.blocks.0.fc1.onelora_b</c>, <c>…lora_A.weight</c>);</item>
/// <item><c>base_model.&lt;key&gt;</c> for <see cref="LinearAdapter.SharedTensors"/>, once per key (e.g. <c>base_model.vera_A</c>);</item>
/// <item><c>base_model.model.&lt;dotted name&gt;</c> for parameters trained outside the adapters (norms, biases, heads trained
/// in full) — what PEFT writes for <c>modules_to_save</c>, whose parent modules the config lists under that name.</item>
/// <item>For PEFT's own types (LORA, VERA) a trained bias of an adapted layer is <c>base_model.model.&lt;layer&gt;.base_layer.bias</c>,
/// the key PEFT's live model has (PEFT wraps the layer; <c>bias = "all"</c> saves it under that key). Older files of ours with
/// <c>…&lt;layer&gt;.bias</c> still load.</item>
/// </list>
/// A non-default adapter name saves into a subfolder of that name, as PEFT does.
/// </summary>
public static class AdapterFiles
{
    /// <summary>PEFT's file name for the adapter tensors.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>PEFT's file name for the adapter configuration.</summary>
    public const string ConfigFileName = "adapter_config.json";

    /// <summary>The adapter name that saves directly into the given directory.</summary>
    public const string DefaultAdapterName = "default";

    /// <summary>Prefix of keys that belong to the wrapped model.</summary>
    public const string ModelPrefix = "base_model.model.";

    /// <summary>Prefix of keys shared by all adapters of an attach.</summary>
    public const string SharedPrefix = "base_model.";

    private static readonly string[] ReservedConfigKeys =
        ["base_model_name_or_path", "inference_mode", "modules_to_save", "peft_type", "target_modules", "task_type"];

    /// <summary>
    /// The tensors an adapter file of this attachment holds, keyed as in the file, in file-independent order
    /// (adapters in attach order, then shared tensors, then extra trainables). Live tensors, not copies.
    /// </summary>
    /// <exception cref="InvalidOperationException">Two different tensors would get the same key.</exception>
    public static IReadOnlyList<(string Key, Tensor Tensor)> AdapterStateDict(this PeftAttachment attachment) =>
        Slots(attachment, includeShared: true).Select(s => (s.Key, s.Targets[0])).ToList();

    /// <summary>True for the <c>peft_type</c>s HF PEFT itself reads (LORA, VERA): their files hold only what PEFT's config classes know.</summary>
    public static bool IsPeftReadable(string peftType) => peftType is "LORA" or "VERA";

    /// <summary>
    /// The method and every option that <c>adapter_config.json</c> in <paramref name="directory"/> states (for example to attach
    /// the same method before <see cref="LoadAdapters"/>, or to show it). Unsupported fields with a non-default value are refused.
    /// </summary>
    /// <exception cref="FileNotFoundException">The config file is missing.</exception>
    /// <exception cref="AdapterLoadException">The config is malformed, of an unknown peft_type, or holds an unsupported field.</exception>
    public static PeftOptions ReadOptions(string directory, string adapterName = DefaultAdapterName)
    {
        var configPath = Path.Combine(AdapterDirectory(directory, adapterName), ConfigFileName);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"Adapter directory '{Path.GetDirectoryName(configPath)}' has no {ConfigFileName} (written by SaveAdapters or PEFT's save_pretrained).", configPath);
        return AdapterConfig.Read(configPath).ToOptions();
    }

    /// <summary>
    /// Writes <c>adapter_model.safetensors</c> and <c>adapter_config.json</c> into <paramref name="directory"/>
    /// (or its subfolder <paramref name="adapterName"/> when that is not <c>default</c>). Each file is written
    /// atomically; everything is computed before the first file is touched. A LORA/VERA file holds only fields PEFT's
    /// config classes know; VeRA with <see cref="PeftOptions.VeRASaveProjection"/> false leaves the projections out.
    /// </summary>
    /// <exception cref="InvalidOperationException">LoRA/DoRA/VeRA adapters with TrainScale (PEFT has no γ and would load the file without it), or the adapter was deleted or unloaded.</exception>
    /// <param name="attachment">The adapters to save.</param>
    /// <param name="directory">Target directory, created if needed.</param>
    /// <param name="adapterName">Adapter name; non-default names save into a subfolder of that name.</param>
    /// <param name="baseModelNameOrPath">Written as <c>base_model_name_or_path</c> (null when unknown).</param>
    public static void Save(this PeftAttachment attachment, string directory, string adapterName = DefaultAdapterName, string? baseModelNameOrPath = null)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        attachment.RequireAttached("saved");
        var target = AdapterDirectory(directory, adapterName);
        RefuseWhatPeftCannotRead(attachment);
        var tensors = Slots(attachment, includeShared: SavesProjections(attachment.Method.ConfigEntries)).Select(s => (s.Key, s.Targets[0])).ToList();
        var config = Config(attachment, baseModelNameOrPath);
        Safetensors.Save(Path.Combine(target, WeightsFileName), tensors);
        AtomicFile.Write(Path.Combine(target, ConfigFileName), s => s.Write(config));
    }

    /// <summary>
    /// Loads adapter values saved by <see cref="Save"/> (or by PEFT, for methods PEFT has) into the attached adapters.
    /// Checks <c>peft_type</c> against the attached method; refuses config fields we do not implement; compares every
    /// field that changes the adapted function (r, lora_alpha, use_rslora, use_dora, rank/alpha patterns, bias, VeRA's
    /// key and d_initial, MoRA's type and rule, 1LoRA's options, train flags), the target set and modules_to_save
    /// (resolved on this model by PEFT's rule) with the attachment; then every key: all missing, unexpected and mis-shaped
    /// keys are reported together with the differing fields, and nothing is copied. With <c>save_projection: false</c>
    /// VeRA's projections are not read: the attached ones, drawn from the compared key, are PEFT's. Floating-point values convert to the model's dtype (an F32 file
    /// loads into an F64 model and the other way round); other dtypes must match.
    /// </summary>
    /// <exception cref="InvalidOperationException">Some adapter is merged (loading would desynchronise the merged weights), or the adapter was deleted or unloaded.</exception>
    /// <exception cref="FileNotFoundException">The directory lacks one of the two files.</exception>
    /// <exception cref="AdapterLoadException">Bad config, wrong peft_type, an unsupported field, a field that differs, or keys that do not fit.</exception>
    /// <exception cref="SafetensorsFormatException">The tensor file breaks the format.</exception>
    /// <param name="attachment">The adapters to load into.</param>
    /// <param name="directory">The adapter directory.</param>
    /// <param name="adapterName">Adapter name; non-default names load from a subfolder of that name.</param>
    /// <param name="allowNonFinite">Load NaN/±Inf values instead of refusing them (AdapterLoadException naming the tensor).</param>
    public static void Load(this PeftAttachment attachment, string directory, string adapterName = DefaultAdapterName, bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        attachment.RequireAttached("loaded into");
        var source = AdapterDirectory(directory, adapterName);
        var merged = attachment.Layers.Where(l => l.Adapter.IsMerged).Select(l => l.Path).ToList();
        if (merged.Count > 0)
            throw new InvalidOperationException(
                $"Cannot load '{source}' into merged {attachment.Method.Name} adapters ({string.Join(", ", merged)}): the merged weights would keep the old values. Call Unmerge() first, load, then Merge() again.");

        var configPath = Path.Combine(source, ConfigFileName);
        var weightsPath = Path.Combine(source, WeightsFileName);
        foreach (var required in new[] { configPath, weightsPath })
            if (!File.Exists(required))
                throw new FileNotFoundException(
                    $"Adapter directory '{source}' has no {Path.GetFileName(required)}; expected {ConfigFileName} and {WeightsFileName} (written by SaveAdapters or PEFT's save_pretrained).", required);

        var config = AdapterConfig.Read(configPath);
        if (config.PeftType != attachment.Method.PeftType)
            throw new AdapterLoadException(configPath,
                $"peft_type is '{config.PeftType}' but the attached method {attachment.Method.Name} has peft_type '{attachment.Method.PeftType}'.");
        if (IsKnownType(config.PeftType)) config.ToOptions();
        var fields = ConfigMismatches(attachment, config);

        using var file = Safetensors.Open(weightsPath);
        bool shared = config["save_projection"] is not { ValueKind: JsonValueKind.False };
        var slots = Slots(attachment, shared).Select(slot =>
            // Files of ours written before the PEFT layout kept an adapted layer's bias under '<layer>.bias'.
            slot.LegacyKey is { } legacy && !file.Contains(slot.Key) && file.Contains(legacy) ? new StateSlot(legacy, slot.Targets) : slot.Slot).ToList();
        StateTransfer.Load(file, slots, (missing, unexpected, mismatched) => new AdapterLoadException(weightsPath,
            $"the file does not fit the attached {attachment.Method.Name} adapters ({attachment.Layers.Count} layers)."
            + (fields.Count > 0 ? $" The config differs too:\n  {string.Join("\n  ", fields)}" : ""),
            missing, unexpected, mismatched), problem => new AdapterLoadException(weightsPath, problem), allowNonFinite,
            beforeCopy: () =>
            {
                if (fields.Count > 0)
                    throw new AdapterLoadException(configPath,
                        $"the adapter does not match the attached {attachment.Method.Name} adapters; nothing was loaded, the model is unchanged:\n  {string.Join("\n  ", fields)}");
            });
    }

    /// <summary>Saves the model's adapters: <c>model.Adapters().Save(directory, adapterName)</c>.</summary>
    public static void SaveAdapters(this nn.Module model, string directory, string adapterName = DefaultAdapterName, string? baseModelNameOrPath = null) =>
        model.Adapters().Save(directory, adapterName, baseModelNameOrPath);

    /// <summary>Loads the model's adapters: <c>model.Adapters().Load(directory, adapterName)</c>.</summary>
    public static void LoadAdapters(this nn.Module model, string directory, string adapterName = DefaultAdapterName, bool allowNonFinite = false) =>
        model.Adapters().Load(directory, adapterName, allowNonFinite);

    /// <summary>The directory an adapter lives in: <paramref name="directory"/>, or its subfolder for a non-default name.</summary>
    /// <exception cref="ArgumentException">The name is empty or not a plain folder name.</exception>
    public static string AdapterDirectory(string directory, string adapterName = DefaultAdapterName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(adapterName);
        if (adapterName is "." or ".." || adapterName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
            || adapterName.Contains('/') || adapterName.Contains('\\'))
            throw new ArgumentException($"Adapter name '{adapterName}' must be a plain folder name (no path separators).", nameof(adapterName));
        return adapterName == DefaultAdapterName ? directory : Path.Combine(directory, adapterName);
    }

    private sealed record PlannedSlot(StateSlot Slot, string? LegacyKey)
    {
        public string Key => Slot.Key;
        public IReadOnlyList<Tensor> Targets => Slot.Targets;
    }

    private static List<PlannedSlot> Slots(PeftAttachment attachment, bool includeShared)
    {
        var slots = new List<PlannedSlot>();
        var index = new Dictionary<string, List<Tensor>>(StringComparer.Ordinal);
        void Add(string key, Tensor tensor, string origin, string? legacy = null)
        {
            if (index.ContainsKey(key))
                throw new InvalidOperationException($"Adapter file key '{key}' would be written twice (again by {origin}).");
            var targets = new List<Tensor> { tensor };
            index[key] = targets;
            slots.Add(new PlannedSlot(new StateSlot(key, targets), legacy));
        }

        foreach (var l in attachment.Layers)
            foreach (var (key, tensor) in l.Adapter.AdapterTensors())
                Add($"{ModelPrefix}{l.Path}.{key}", tensor, $"the adapter on '{l.Path}'");

        foreach (var l in includeShared ? attachment.Layers : [])
        {
            foreach (var (key, tensor) in l.Adapter.SharedTensors())
            {
                var full = SharedPrefix + key;
                if (!index.TryGetValue(full, out var targets))
                {
                    Add(full, tensor, $"the adapter on '{l.Path}'");
                    continue;
                }
                // Shared tensors are saved once; a layer holding its own copy gets the same values on load.
                if (!targets[0].shape.SequenceEqual(tensor.shape))
                    throw new InvalidOperationException(
                        $"Shared tensor '{key}' of the adapter on '{l.Path}' has shape [{string.Join(", ", tensor.shape)}], but another adapter shares it with shape [{string.Join(", ", targets[0].shape)}].");
                if (!targets.Any(t => t.Handle == tensor.Handle)) targets.Add(tensor);
            }
        }

        // PEFT's live model holds an adapted layer's own parameters under '<layer>.base_layer.'.
        var adaptedBiases = IsPeftReadable(attachment.Method.PeftType)
            ? attachment.Layers.ToDictionary(l => l.Path + ".bias", l => l.Path + ".base_layer.bias", StringComparer.Ordinal)
            : [];
        foreach (var (name, parameter) in attachment.ExtraTrainable)
        {
            if (adaptedBiases.TryGetValue(name, out var peftName))
                Add(ModelPrefix + peftName, parameter, $"the trained bias '{name}'", legacy: ModelPrefix + name);
            else
                Add(ModelPrefix + name, parameter, $"the extra trainable parameter '{name}'");
        }
        return slots;
    }

    private static bool SavesProjections(IReadOnlyDictionary<string, object?> entries) =>
        !(entries.TryGetValue("save_projection", out var v) && v is false);

    private static bool IsKnownType(string peftType) =>
        peftType is "LORA" or "VERA" or "ONELORA" or "MORA" or "BITFIT" or "DIFFFIT" or "FULL";

    /// <summary>Refuses a save PEFT would load differently: TrainScale's γ has no place in PEFT's LORA/VERA formats.</summary>
    private static void RefuseWhatPeftCannotRead(PeftAttachment attachment)
    {
        var method = attachment.Method;
        if (!IsPeftReadable(method.PeftType)) return;
        var scaled = attachment.Layers.Where(l => l.Adapter is ScaledAdapter).Select(l => l.Path).ToList();
        if (scaled.Count > 0)
            throw new InvalidOperationException(
                $"Cannot save {method.Name} adapters with TrainScale as peft_type {method.PeftType}: PEFT has no per-layer scale γ (scale_gamma on {string.Join(", ", scaled)}), " +
                "so PEFT would load the file without it and compute other outputs. Merge (model.Adapters().Merge()) and SaveWeights, or train without TrainScale.");
    }

    /// <summary>PEFT's LoraConfig/VeraConfig field names (beyond PeftConfig's): a PEFT-readable config holds no other key.</summary>
    private static readonly Dictionary<string, HashSet<string>> PeftFields = new(StringComparer.Ordinal)
    {
        ["LORA"] = new(StringComparer.Ordinal) { "r", "lora_alpha", "lora_dropout", "use_rslora", "use_dora", "rank_pattern", "alpha_pattern", "bias",
            "fan_in_fan_out", "init_lora_weights", "layers_to_transform", "layers_pattern", "exclude_modules" },
        ["VERA"] = new(StringComparer.Ordinal) { "r", "projection_prng_key", "save_projection", "vera_dropout", "d_initial", "bias", "fan_in_fan_out",
            "init_weights", "layers_to_transform", "layers_pattern" },
    };

    // Our combination flags: in a PEFT-readable file they are bias / modules_to_save (train_scale is refused at save).
    private static readonly string[] CombinationKeys = ["train_norms", "train_biases", "train_scale"];

    private static byte[] Config(PeftAttachment attachment, string? baseModelNameOrPath) =>
        Serialize(ConfigEntries(attachment, baseModelNameOrPath, forFile: true));

    /// <summary>
    /// The config of this attachment. <paramref name="forFile"/>: as written (a PEFT-readable type holds only PEFT's fields);
    /// otherwise every method entry, for comparing with a file.
    /// </summary>
    private static SortedDictionary<string, object?> ConfigEntries(PeftAttachment attachment, string? baseModelNameOrPath, bool forFile)
    {
        var method = attachment.Method;
        var entries = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["inference_mode"] = true,
            ["modules_to_save"] = ModulesToSave(attachment),
            ["peft_type"] = method.PeftType,
            ["target_modules"] = TargetModules(attachment),
            ["task_type"] = null,
        };
        PeftFields.TryGetValue(method.PeftType, out var peftFields);
        foreach (var (key, value) in method.ConfigEntries)
        {
            if (ReservedConfigKeys.Contains(key))
                throw new InvalidOperationException($"{method.Name}.ConfigEntries sets '{key}', which the adapter file writer owns.");
            if (forFile && peftFields is not null && !peftFields.Contains(key))
            {
                if (CombinationKeys.Contains(key)) continue;
                throw new InvalidOperationException(
                    $"{method.Name}.ConfigEntries sets '{key}', which PEFT's {method.PeftType} config does not know (PEFT ≤ 0.13 refuses such a file); use a peft_type of your own.");
            }
            entries[key] = value;
        }
        // MoRA's r̂ = ⌊√d⌋ coincides for neighbouring widths, so M alone does not tell a 16-wide layer from a 17-wide one.
        if (method.PeftType == "MORA")
            entries[MoRALayerFeatures] = attachment.Layers.ToDictionary(l => l.Path, l => new[] { l.Adapter.InFeatures, l.Adapter.OutFeatures });
        return entries;
    }

    /// <summary>MORA config key: each adapted layer's [in_features, out_features] (ours; compared on load when present).</summary>
    internal const string MoRALayerFeatures = "mora_layer_features";

    /// <summary>
    /// The adapted paths as a list, or, when PEFT's suffix rule would also pick another Linear layer from that list
    /// (<c>fc1</c> also matches <c>blocks.0.fc1</c>), as a regex naming exactly these paths.
    /// </summary>
    private static object TargetModules(PeftAttachment attachment)
    {
        var paths = attachment.Layers.Select(l => l.Path).Order(StringComparer.Ordinal).ToList();
        var adapted = paths.ToHashSet(StringComparer.Ordinal);
        var others = PeftModel.LinearLayers(attachment.Root).Select(l => l.Path).Where(p => !adapted.Contains(p));
        bool ambiguous = others.Any(o => paths.Any(p => o.EndsWith("." + p, StringComparison.Ordinal)));
        return ambiguous ? string.Join("|", paths.Select(Regex.Escape)) : paths;
    }

    private static byte[] Serialize(SortedDictionary<string, object?> entries)
    {
        using var stream = new MemoryStream();
        // Indented writes two spaces per level on net8.0 and net10.0 alike (IndentSize, net9+, defaults to 2).
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            WriteValue(json, entries, "adapter_config.json");
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    /// <summary>
    /// Modules owning extra trainables, except adapted layers (their trained biases are PEFT's <c>bias</c> option,
    /// not a module to save); null when none, as PEFT writes it.
    /// </summary>
    private static List<string>? ModulesToSave(PeftAttachment attachment)
    {
        var adapted = attachment.Layers.Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
        // With PEFT's bias = "all" a trained bias is covered by that option, not by saving its module whole.
        bool allBiases = attachment.Method.ConfigEntries.TryGetValue("bias", out var bias) && bias is "all";
        var modules = attachment.ExtraTrainable
            .Where(e => !(allBiases && (e.Name == "bias" || e.Name.EndsWith(".bias", StringComparison.Ordinal))))
            .Select(e => e.Name.LastIndexOf('.') is var dot and > 0 ? e.Name[..dot] : e.Name)
            .Where(m => !adapted.Contains(m))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return modules.Count == 0 ? null : modules;
    }

    private static void WriteValue(Utf8JsonWriter json, object? value, string key)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case string s: json.WriteStringValue(s); break;
            case bool b: json.WriteBooleanValue(b); break;
            case Enum e: json.WriteStringValue(e.ToString()); break;
            case int or long or short or sbyte or byte or ushort or uint: json.WriteNumberValue(Convert.ToInt64(value)); break;
            case ulong u: json.WriteNumberValue(u); break;
            case float f when float.IsFinite(f): json.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): json.WriteNumberValue(d); break;
            case decimal m: json.WriteNumberValue(m); break;
            case IDictionary dictionary:
                json.WriteStartObject();
                foreach (var k in dictionary.Keys.Cast<object>().Select(k => k.ToString()!).Order(StringComparer.Ordinal))
                {
                    json.WritePropertyName(k);
                    WriteValue(json, dictionary[k], $"{key}.{k}");
                }
                json.WriteEndObject();
                break;
            case IEnumerable sequence:
                json.WriteStartArray();
                foreach (var item in sequence) WriteValue(json, item, key);
                json.WriteEndArray();
                break;
            default:
                throw new NotSupportedException(
                    $"Config entry '{key}' has a value of type {value.GetType().Name} ({value}), which adapter_config.json cannot hold; use a string, number, bool, list or dictionary of those (numbers must be finite).");
        }
    }


    // Fields compared on load, per peft_type, with the value PEFT (or we) assume when the file lacks them. Dropout,
    // save_projection and file bookkeeping do not change the adapted function and are not compared.
    private static readonly Dictionary<string, (string Key, string Default)[]> Compared = new(StringComparer.Ordinal)
    {
        ["LORA"] = [("r", "8"), ("lora_alpha", "8"), ("use_rslora", "false"), ("use_dora", "false"), ("rank_pattern", "{}"),
            ("alpha_pattern", "{}"), ("bias", "\"none\""), ("train_scale", "false")],
        ["VERA"] = [("r", "256"), ("projection_prng_key", "0"), ("d_initial", "0.1"), ("bias", "\"none\""), ("train_scale", "false")],
    };

    private static readonly Dictionary<string, string> OurDefaults = new(StringComparer.Ordinal)
    {
        ["train_norms"] = "false", ["train_biases"] = "false", ["train_scale"] = "false", ["random_compression"] = "false",
        ["compression_seed"] = "0", ["mora_type"] = "1", ["mora_rank_rule"] = "\"Paper\"", ["use_mora"] = "true", ["r"] = "1",
    };

    private static readonly HashSet<string> NotCompared = new(StringComparer.Ordinal)
    {
        "base_model_name_or_path", "inference_mode", "modules_to_save", "peft_type", "target_modules", "task_type",
        "lora_dropout", "vera_dropout", "save_projection",
    };

    /// <summary>Every field of the file that differs from the attachment, as "field: the file has X, the attached M has Y" lines.</summary>
    private static List<string> ConfigMismatches(PeftAttachment attachment, AdapterConfig file)
    {
        var problems = new List<string>();
        using var attachedDoc = JsonDocument.Parse(Serialize(ConfigEntries(attachment, null, forFile: false)));
        var attached = attachedDoc.RootElement;
        var name = attachment.Method.Name;
        var fields = Compared.TryGetValue(file.PeftType, out var peft)
            ? peft
            : attached.EnumerateObject().Select(p => p.Name).Where(k => !NotCompared.Contains(k))
                .Select(k => (Key: k, Default: OurDefaults.GetValueOrDefault(k, ""))).ToArray();
        foreach (var (key, fallback) in fields)
        {
            if (!attached.TryGetProperty(key, out var mine)) continue;
            string fileText;
            bool same;
            if (file[key] is { ValueKind: not JsonValueKind.Null } theirs)
            {
                fileText = AdapterConfig.Raw(theirs);
                same = JsonEquals(theirs, mine);
            }
            else if (key == MoRALayerFeatures)
            {
                continue; // written since 0.3; older MORA files lack it
            }
            else if (fallback.Length > 0)
            {
                using var d = JsonDocument.Parse(fallback);
                fileText = $"{fallback} (absent, the default)";
                same = JsonEquals(d.RootElement, mine);
            }
            else
            {
                fileText = "nothing (absent)";
                same = false;
            }
            if (!same) problems.Add($"field '{key}': the file has {fileText}, the attached {name} has {AdapterConfig.Raw(mine)}.");
        }

        // The target set and the modules to save, resolved on this model by PEFT's rule.
        try
        {
            var rule = file.Targets();
            var linear = PeftModel.LinearLayers(attachment.Root).Select(l => l.Path).ToList();
            var selected = linear.Where(rule.Selects).ToHashSet(StringComparer.Ordinal);
            var layers = attachment.Layers.Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
            if (!selected.SetEquals(layers))
                problems.Add($"field 'target_modules' = {AdapterConfig.Raw(file["target_modules"]!.Value)} selects {List(selected)} on this model, but the attached {name} adapters are on {List(layers)}.");
            // Compared as parameters: a module trained in full may be saved under its own name or its children's.
            var fileModules = attachment.Root.named_modules().Select(m => m.name)
                .Where(p => p.Length > 0 && rule.IsModuleToSave(p) && !layers.Contains(p)).ToList();
            var fileParams = attachment.Root.named_parameters().Select(p => p.name)
                .Where(n => fileModules.Any(m => n.StartsWith(m + ".", StringComparison.Ordinal))).ToHashSet(StringComparer.Ordinal);
            var myModules = ModulesToSave(attachment) ?? [];
            var myParams = attachment.Root.named_parameters().Select(p => p.name)
                .Where(n => myModules.Any(m => n.StartsWith(m + ".", StringComparison.Ordinal))).ToHashSet(StringComparer.Ordinal);
            if (!fileParams.SetEquals(myParams))
                problems.Add($"field 'modules_to_save' names {List(fileModules)} on this model, but the attachment trains {List(myModules)} in full.");
        }
        catch (AdapterLoadException e)
        {
            problems.Add(e.Message);
        }
        return problems;
    }

    private static string List(IEnumerable<string> items)
    {
        var sorted = items.Order(StringComparer.Ordinal).ToList();
        return sorted.Count == 0 ? "none" : "[" + string.Join(", ", sorted.Take(20)) + (sorted.Count > 20 ? $", … {sorted.Count - 20} more" : "") + "]";
    }

    private static bool JsonEquals(JsonElement a, JsonElement b)
    {
        if (a.ValueKind == JsonValueKind.Number && b.ValueKind == JsonValueKind.Number)
            return a.GetDouble() == b.GetDouble();
        if (a.ValueKind != b.ValueKind) return false;
        switch (a.ValueKind)
        {
            case JsonValueKind.String: return a.GetString() == b.GetString();
            case JsonValueKind.Array:
                return a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => JsonEquals(p.First, p.Second));
            case JsonValueKind.Object:
                var left = a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
                var right = b.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
                return left.Count == right.Count && left.All(kv => right.TryGetValue(kv.Key, out var v) && JsonEquals(kv.Value, v));
            default: return true;
        }
    }
}
