using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.OneLoRA;

/// <summary>The 1LoRA strategy: one <see cref="OneLoRAAdapter"/> per target layer.</summary>
public sealed class OneLoRAMethod(PeftOptions options) : PeftMethodBase(options)
{
    /// <summary>1LoRA with default options.</summary>
    public OneLoRAMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "OneLoRA";

    /// <inheritdoc />
    public override string PeftType => "ONELORA";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?> ConfigEntries => new Dictionary<string, object?>(base.ConfigEntries)
    {
        ["random_compression"] = Options.RandomCompression,
        ["compression_seed"] = Options.CompressionSeed,
    };

    /// <inheritdoc />
    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers)
    {
        if (!Options.RandomCompression)
            return layers.Select(l => (LinearAdapter)new OneLoRAAdapter(l.Layer)).ToList();

        // One generator for the whole attach: layer i's vector depends on the seed and on the layer order.
        using var generator = new Generator((ulong)Options.CompressionSeed, device: CPU);
        var result = new List<LinearAdapter>(layers.Count);
        foreach (var (_, layer) in layers)
        {
            var v = randn(layer.in_features, generator: generator, dtype: layer.weight!.dtype).to(layer.weight.device);
            result.Add(new OneLoRAAdapter(layer, v));
        }
        return result;
    }
}
