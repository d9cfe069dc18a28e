using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Shared behaviour of the built-in methods: the combination options of the paper's ablation
/// (Tables S11/S12) — norm layers and the adapted layers' biases trained outside the adapters, and the
/// per-layer scale γ (<see cref="PeftOptions.TrainScale"/>) wrapped around every adapter of any method.
/// </summary>
/// <remarks>
/// Derived methods implement <see cref="CreateAdapters"/> with their own adapters only; attach calls
/// <see cref="IPeftMethod.CreateAdapters"/>, which this class implements by adding the combinations.
/// </remarks>
public abstract class PeftMethodBase(PeftOptions options) : IPeftMethod
{
    /// <summary>This method's copy of the options.</summary>
    public PeftOptions Options { get; } = options.Clone();

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract string PeftType { get; }

    /// <summary>Creates the method's own adapter for each layer, in order (combinations are added by the base class).</summary>
    public abstract IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers);

    /// <summary>The method's adapters, each wrapped in a <see cref="ScaledAdapter"/> when <see cref="PeftOptions.TrainScale"/> is on.</summary>
    IReadOnlyList<LinearAdapter> IPeftMethod.CreateAdapters(IReadOnlyList<TargetLayer> layers)
    {
        var adapters = CreateAdapters(layers);
        if (!Options.TrainScale) return adapters;
        if (adapters.Count != layers.Count)
            throw new InvalidOperationException($"{Name} created {adapters.Count} adapters for {layers.Count} layers.");
        return adapters.Select((a, i) => (LinearAdapter)new ScaledAdapter(a, layers[i].Layer)).ToList();
    }

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

    /// <summary>Throws when an option this method reads is out of range, naming the method, the option and what was expected.</summary>
    /// <exception cref="ArgumentException"><paramref name="valid"/> is false.</exception>
    protected internal void Require(bool valid, string option, object? value, string expected)
    {
        if (!valid)
            throw new ArgumentException(
                $"{Name}: PeftOptions.{option} = {System.Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)} is invalid; expected {expected}.", option);
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
