using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace OneLoRA.Serialization;

/// <summary>A key of a tensor file and the live model tensors its values go into (several when shared).</summary>
internal sealed record StateSlot(string Key, IReadOnlyList<Tensor> Targets);

/// <summary>
/// All-or-nothing copy of a validated safetensors file into live model tensors: every key is checked first
/// (missing, unexpected, shape, dtype), every tensor is read into a temporary, and only then are the model's
/// tensors overwritten under no_grad. Floating-point values convert between F64/F32/F16/BF16; other dtypes
/// must match exactly. Non-finite values (NaN, ±Inf) are refused, naming the tensor, unless allowed.
/// </summary>
internal static class StateTransfer
{
    public static void Load(SafetensorsFile file, IReadOnlyList<StateSlot> slots,
        Func<IReadOnlyList<string>, IReadOnlyList<string>, IReadOnlyList<TensorMismatch>, Exception> mismatch,
        Func<string, Exception> refuse, bool allowNonFinite, Action? beforeCopy = null)
    {
        var expected = slots.ToDictionary(s => s.Key, StringComparer.Ordinal);
        var missing = slots.Select(s => s.Key).Where(k => !file.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = file.Names.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var mismatched = new List<TensorMismatch>();
        foreach (var slot in slots.Where(s => file.Contains(s.Key)).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var entry = file[slot.Key];
            foreach (var target in slot.Targets)
            {
                if (target.shape.SequenceEqual(entry.Shape) && Convertible(entry.ScalarType, target.dtype)) continue;
                mismatched.Add(new TensorMismatch(slot.Key, target.shape, DTypeLabel(target.dtype), entry.Shape, entry.DType));
                break;
            }
        }
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
            throw mismatch(missing, unexpected, mismatched);
        // The caller's last check (e.g. config fields) runs once the keys are known to fit, before anything is read.
        beforeCopy?.Invoke();

        using var scope = NewDisposeScope();
        var staged = slots.Select(s => (s.Key, Source: file.Read(s.Key), s.Targets)).ToList();
        if (!allowNonFinite)
        {
            foreach (var (key, source, _) in staged)
            {
                if (!source.is_floating_point() || source.numel() == 0) continue;
                var bad = logical_not(isfinite(source));
                long count = bad.sum().item<long>();
                if (count == 0) continue;
                long first = bad.flatten().nonzero()[0, 0].item<long>();
                throw refuse($"tensor '{key}' holds {count} non-finite value{(count == 1 ? "" : "s")} (NaN or ±Inf; the first at flat index {first}). " +
                    "Nothing was loaded; the model is unchanged. Pass allowNonFinite: true to load such values anyway.");
            }
        }
        using (no_grad())
        {
            foreach (var (_, source, targets) in staged)
                foreach (var target in targets)
                    target.copy_(source);
        }
    }

    private static bool Convertible(ScalarType file, ScalarType model) =>
        file == model || (IsFloating(file) && IsFloating(model));

    private static bool IsFloating(ScalarType t) =>
        t is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    private static string DTypeLabel(ScalarType t)
    {
        try { return Safetensors.DTypeName(t); }
        catch (NotSupportedException) { return t.ToString(); }
    }
}
