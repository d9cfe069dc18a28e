using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace OneLoRA.Pretrained;

/// <summary>Options for <see cref="PretrainedLoader.Load"/>.</summary>
public sealed record PretrainedLoadOptions
{
    /// <summary>Checkpoint names → model names (prefix strip, renames, ignored tensors). Default: identity.</summary>
    public NameMap Names { get; init; } = NameMap.Identity;

    /// <summary>
    /// Strict (default): every model parameter needs a source and every source tensor that is not ignored must be used.
    /// When false, both are allowed and reported. Shape mismatches are never allowed.
    /// </summary>
    public bool Strict { get; init; } = true;

    /// <summary>Also load the model's buffers (e.g. BatchNorm statistics) by name. Default: parameters only.</summary>
    public bool IncludeBuffers { get; init; }

    /// <summary>Allow a floating-point source of another precision (converted to the parameter's dtype). Default: dtypes must be equal.</summary>
    public bool ConvertFloatingPoint { get; init; }
}

/// <summary>One copied tensor.</summary>
/// <param name="Target">The model's parameter name.</param>
/// <param name="Source">The checkpoint name.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Origin">File (and inner name) it came from.</param>
public sealed record LoadedTensor(string Target, string Source, IReadOnlyList<long> Shape, string Origin);

/// <summary>What <see cref="PretrainedLoader.Load"/> did.</summary>
/// <param name="Source">The checkpoint's description.</param>
/// <param name="Loaded">Every copied tensor, in model order.</param>
/// <param name="Ignored">Source tensors left out by the name map's ignore rules.</param>
/// <param name="Missing">Model parameters left as they were (non-strict only; empty when strict).</param>
/// <param name="Unused">Source tensors not used (non-strict only; empty when strict).</param>
public sealed record PretrainedLoadReport(string Source, IReadOnlyList<LoadedTensor> Loaded, IReadOnlyList<string> Ignored,
    IReadOnlyList<string> Missing, IReadOnlyList<string> Unused)
{
    /// <summary>Number of values copied.</summary>
    public long LoadedValues => Loaded.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));

    /// <inheritdoc />
    public override string ToString() =>
        $"{Loaded.Count} tensors ({LoadedValues:N0} values) loaded from {Source}; {Ignored.Count} ignored, {Missing.Count} missing, {Unused.Count} unused.";
}

/// <summary>Copies a checkpoint's tensors into any TorchSharp module by name, all or nothing.</summary>
public static class PretrainedLoader
{
    /// <summary>
    /// Maps every source tensor's name with <see cref="PretrainedLoadOptions.Names"/>, matches them to the module's
    /// parameters (and buffers if asked), checks everything, and only then copies (no grad, onto each parameter's
    /// device). Strict by default.
    /// </summary>
    /// <exception cref="PretrainedLoadException">Any missing, unused (strict), mis-shaped or mistyped tensor, or two sources for one parameter; all listed, the module unchanged.</exception>
    public static PretrainedLoadReport Load(nn.Module module, TensorSource source, PretrainedLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(source);
        options ??= new PretrainedLoadOptions();

        var targets = new List<(string Name, Tensor Tensor)>();
        foreach (var (name, p) in module.named_parameters()) targets.Add((name, p));
        if (options.IncludeBuffers)
            foreach (var (name, b) in module.named_buffers()) targets.Add((name, b));
        var byName = targets.ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);

        var ignored = new List<string>();
        var unused = new List<string>();
        var mismatched = new List<string>();
        var assigned = new Dictionary<string, SourceTensor>(StringComparer.Ordinal);
        var duplicates = new List<string>();
        foreach (var s in source.Tensors)
        {
            if (options.Names.IsIgnored(s.Name)) { ignored.Add(s.Name); continue; }
            var target = options.Names.Map(s.Name);
            if (!byName.TryGetValue(target, out var t))
            {
                unused.Add(target == s.Name ? s.Name : $"{s.Name} (as {target})");
                continue;
            }
            if (assigned.TryGetValue(target, out var first))
            {
                duplicates.Add($"{target} ← {first.Name} and {s.Name}");
                continue;
            }
            assigned[target] = s;
            var shapeOk = t.shape.SequenceEqual(s.Shape);
            var dtypeOk = t.dtype == s.DType
                || (options.ConvertFloatingPoint && torch.is_floating_point(t) && IsFloating(s.DType));
            if (!shapeOk || !dtypeOk)
                mismatched.Add($"{target}: model {SourceTensor.FormatShape(t.shape)} {t.dtype}, source {SourceTensor.FormatShape(s.Shape)} {s.DType} ({s.Origin})");
        }
        var missing = targets.Where(t => !assigned.ContainsKey(t.Name)).Select(t => t.Name).ToList();

        if (PretrainedLoadException.Any(mismatched, duplicates) || (options.Strict && PretrainedLoadException.Any(missing, unused)))
            throw new PretrainedLoadException(source.Description, options.Strict ? missing : [], options.Strict ? unused : [], mismatched, duplicates);

        // Read everything first (a read can still fail), then copy.
        var plan = targets.Where(t => assigned.ContainsKey(t.Name)).Select(t => (t.Name, t.Tensor, Source: assigned[t.Name])).ToList();
        var read = new List<Tensor>(plan.Count);
        try
        {
            foreach (var item in plan) read.Add(item.Source.Read());
            using (torch.no_grad())
                for (int i = 0; i < plan.Count; i++)
                    plan[i].Tensor.copy_(read[i]);
        }
        finally
        {
            foreach (var r in read) r.Dispose();
        }
        var loaded = plan.Select(p => new LoadedTensor(p.Name, p.Source.Name, p.Source.Shape, p.Source.Origin)).ToList();
        return new PretrainedLoadReport(source.Description, loaded, ignored, missing, unused);
    }

    private static bool IsFloating(ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;
}
