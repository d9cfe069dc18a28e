using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using OneLoRA.Serialization;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// The deploy path: a whole model's weights as one safetensors file, keyed by <c>state_dict()</c> names.
/// With adapters attached, they must be merged first; the adapters' own tensors are left out, so the file
/// holds the adapted weights and loads into the plain base model.
/// </summary>
public static class ModelWeights
{
    /// <summary>
    /// Writes the model's <c>state_dict()</c> (parameters and persistent buffers) to <paramref name="path"/>
    /// atomically, with metadata <c>{"format": "pt"}</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Adapters are attached but not merged: the file would lack their change.</exception>
    public static void SaveWeights(this nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var attachment = Peft.AttachmentFor(model);
        if (attachment is { Layers.Count: > 0, IsMerged: false })
            throw new InvalidOperationException(
                $"{model.GetType().Name} has unmerged {attachment.Method.Name} adapters; call Merge() before SaveWeights so '{path}' holds the adapted weights, or save the adapters alone with SaveAdapters.");
        Safetensors.Save(path, BaseState(model).Select(kv => (kv.Key, kv.Value)));
    }

    /// <summary>
    /// Loads weights written by <see cref="SaveWeights"/> (or any safetensors state dict with the model's keys).
    /// Every missing, unexpected and mis-shaped key is reported at once and nothing is copied; floating-point
    /// values convert to the model's dtype. Adapter tensors of an attached model are not part of the file.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model's adapters are merged: new base weights would make Unmerge wrong.</exception>
    /// <exception cref="StateLoadException">Keys do not fit.</exception>
    /// <exception cref="SafetensorsFormatException">The file breaks the format.</exception>
    /// <param name="model">The model to load into.</param>
    /// <param name="path">The safetensors file.</param>
    /// <param name="allowNonFinite">Load NaN/±Inf values instead of refusing them (StateLoadException naming the tensor).</param>
    public static void LoadWeights(this nn.Module model, string path, bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var attachment = Peft.AttachmentFor(model);
        if (attachment is not null && attachment.Layers.Any(l => l.Adapter.IsMerged))
            throw new InvalidOperationException(
                $"{model.GetType().Name} has merged {attachment.Method.Name} adapters; call Unmerge() before LoadWeights('{path}'), or Unmerge would subtract the adapters from weights that never held them.");
        using var file = Safetensors.Open(path);
        var slots = BaseState(model).Select(kv => new StateSlot(kv.Key, [kv.Value])).ToList();
        StateTransfer.Load(file, slots, (missing, unexpected, mismatched) => new StateLoadException(path,
            $"the file does not fit {model.GetType().Name} ({slots.Count} tensors).", missing, unexpected, mismatched),
            problem => new StateLoadException(path, problem, [], [], []), allowNonFinite);
    }

    /// <summary>The model's state dict without the tensors of attached adapters.</summary>
    private static IEnumerable<KeyValuePair<string, Tensor>> BaseState(nn.Module model)
    {
        var adapterPrefixes = model.named_modules()
            .Where(m => m.module is LinearAdapter)
            .Select(m => m.name + ".")
            .ToList();
        return model.state_dict().Where(kv => !adapterPrefixes.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal)));
    }
}
