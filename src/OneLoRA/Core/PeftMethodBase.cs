using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Shared behaviour of the built-in methods: the combination options of the paper's ablation
/// (Tables S11/S12) that train parameters outside the adapters — norm layers and the adapted layers' biases.
/// </summary>
public abstract class PeftMethodBase(PeftOptions options) : IPeftMethod
{
    /// <summary>This method's copy of the options.</summary>
    public PeftOptions Options { get; } = options.Clone();

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract string PeftType { get; }

    /// <inheritdoc />
    public abstract IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers);

    /// <inheritdoc />
    public virtual IReadOnlyDictionary<string, object?> ConfigEntries => new Dictionary<string, object?>
    {
        ["train_norms"] = Options.TrainNorms,
        ["train_biases"] = Options.TrainBiases,
        ["train_scale"] = Options.TrainScale,
    };

    /// <inheritdoc />
    public virtual IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers)
    {
        if (Options.TrainNorms)
        {
            foreach (var (path, module) in root.named_modules())
            {
                if (module is not (LayerNorm or GroupNorm)) continue;
                foreach (var (name, p) in module.named_parameters(recurse: false))
                    yield return (Join(path, name), p);
            }
        }
        if (Options.TrainBiases)
        {
            foreach (var (path, layer) in layers)
                if (layer.bias is { } bias)
                    yield return (Join(path, "bias"), bias);
        }
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
