using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Encodings.Web;
using System.Text.Json;
using OneLoRA.Serialization;
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
        Slots(attachment).Select(s => (s.Key, s.Targets[0])).ToList();

    /// <summary>
    /// Writes <c>adapter_model.safetensors</c> and <c>adapter_config.json</c> into <paramref name="directory"/>
    /// (or its subfolder <paramref name="adapterName"/> when that is not <c>default</c>). Each file is written
    /// atomically; everything is computed before the first file is touched.
    /// </summary>
    /// <param name="attachment">The adapters to save.</param>
    /// <param name="directory">Target directory, created if needed.</param>
    /// <param name="adapterName">Adapter name; non-default names save into a subfolder of that name.</param>
    /// <param name="baseModelNameOrPath">Written as <c>base_model_name_or_path</c> (null when unknown).</param>
    public static void Save(this PeftAttachment attachment, string directory, string adapterName = DefaultAdapterName, string? baseModelNameOrPath = null)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        var target = AdapterDirectory(directory, adapterName);
        var tensors = attachment.AdapterStateDict();
        var config = Config(attachment, baseModelNameOrPath);
        Safetensors.Save(Path.Combine(target, WeightsFileName), tensors);
        AtomicFile.Write(Path.Combine(target, ConfigFileName), s => s.Write(config));
    }

    /// <summary>
    /// Loads adapter values saved by <see cref="Save"/> (or by PEFT, for methods PEFT has) into the attached adapters.
    /// Checks <c>peft_type</c> against the attached method, then every key: all missing, unexpected and mis-shaped keys
    /// are reported together and nothing is copied. Floating-point values convert to the model's dtype (an F32 file
    /// loads into an F64 model and the other way round); other dtypes must match.
    /// </summary>
    /// <exception cref="InvalidOperationException">Some adapter is merged (loading would desynchronise the merged weights).</exception>
    /// <exception cref="FileNotFoundException">The directory lacks one of the two files.</exception>
    /// <exception cref="AdapterLoadException">Bad config, wrong peft_type, or keys that do not fit.</exception>
    /// <exception cref="SafetensorsFormatException">The tensor file breaks the format.</exception>
    /// <param name="attachment">The adapters to load into.</param>
    /// <param name="directory">The adapter directory.</param>
    /// <param name="adapterName">Adapter name; non-default names load from a subfolder of that name.</param>
    /// <param name="allowNonFinite">Load NaN/±Inf values instead of refusing them (AdapterLoadException naming the tensor).</param>
    public static void Load(this PeftAttachment attachment, string directory, string adapterName = DefaultAdapterName, bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(attachment);
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

        var peftType = ReadPeftType(configPath);
        if (peftType != attachment.Method.PeftType)
            throw new AdapterLoadException(configPath,
                $"peft_type is '{peftType}' but the attached method {attachment.Method.Name} has peft_type '{attachment.Method.PeftType}'.");

        using var file = Safetensors.Open(weightsPath);
        StateTransfer.Load(file, Slots(attachment), (missing, unexpected, mismatched) => new AdapterLoadException(weightsPath,
            $"the file does not fit the attached {attachment.Method.Name} adapters ({attachment.Layers.Count} layers).",
            missing, unexpected, mismatched), problem => new AdapterLoadException(weightsPath, problem), allowNonFinite);
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

    private static List<StateSlot> Slots(PeftAttachment attachment)
    {
        var slots = new List<StateSlot>();
        var index = new Dictionary<string, List<Tensor>>(StringComparer.Ordinal);
        void Add(string key, Tensor tensor, string origin)
        {
            if (index.ContainsKey(key))
                throw new InvalidOperationException($"Adapter file key '{key}' would be written twice (again by {origin}).");
            var targets = new List<Tensor> { tensor };
            index[key] = targets;
            slots.Add(new StateSlot(key, targets));
        }

        foreach (var l in attachment.Layers)
            foreach (var (key, tensor) in l.Adapter.AdapterTensors())
                Add($"{ModelPrefix}{l.Path}.{key}", tensor, $"the adapter on '{l.Path}'");

        foreach (var l in attachment.Layers)
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

        foreach (var (name, parameter) in attachment.ExtraTrainable)
            Add(ModelPrefix + name, parameter, $"the extra trainable parameter '{name}'");
        return slots;
    }

    private static byte[] Config(PeftAttachment attachment, string? baseModelNameOrPath)
    {
        var method = attachment.Method;
        var entries = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["inference_mode"] = true,
            ["modules_to_save"] = ModulesToSave(attachment),
            ["peft_type"] = method.PeftType,
            ["target_modules"] = attachment.Layers.Select(l => l.Path).Order(StringComparer.Ordinal).ToList(),
            ["task_type"] = null,
        };
        foreach (var (key, value) in method.ConfigEntries)
        {
            if (ReservedConfigKeys.Contains(key))
                throw new InvalidOperationException($"{method.Name}.ConfigEntries sets '{key}', which the adapter file writer owns.");
            entries[key] = value;
        }

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
        var modules = attachment.ExtraTrainable
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

    private static string ReadPeftType(string configPath)
    {
        const long maxConfigBytes = 16 << 20;
        if (new FileInfo(configPath).Length > maxConfigBytes)
            throw new AdapterLoadException(configPath, $"the config is larger than {maxConfigBytes} bytes; not an adapter config.");
        // UTF-8 and duplicate keys are checked too (StrictJson): System.Text.Json would throw untyped or keep the last.
        using var document = StrictJson.Parse(File.ReadAllBytes(configPath), problem => new AdapterLoadException(configPath, problem));
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new AdapterLoadException(configPath, $"the config is a JSON {document.RootElement.ValueKind}, expected an object.");
        if (!document.RootElement.TryGetProperty("peft_type", out var type) || type.ValueKind != JsonValueKind.String)
            throw new AdapterLoadException(configPath, "the config has no string 'peft_type'; it is required to check the adapter matches the attached method.");
        return type.GetString()!;
    }
}
