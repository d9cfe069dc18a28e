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
/// Derived methods implement <see cref="CreateMethodAdapters"/> with their own adapters only; <see cref="CreateAdapters"/>,
/// the one way to get them (by this type or through <see cref="IPeftMethod"/>), adds the combinations.
/// </remarks>
public abstract class PeftMethodBase(PeftOptions options) : IPeftMethod
{
    /// <summary>This method's copy of the options.</summary>
    public PeftOptions Options { get; } = options.Clone();

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract string PeftType { get; }

    /// <summary>
    /// The adapters attach registers: the method's own (<see cref="CreateMethodAdapters"/>), each wrapped in a
    /// <see cref="ScaledAdapter"/> when <see cref="PeftOptions.TrainScale"/> is on.
    /// </summary>
    /// <exception cref="InvalidOperationException">The method made a different number of adapters than layers.</exception>
    public IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var adapters = CreateMethodAdapters(layers);
        if (adapters.Count != layers.Count)
            throw new InvalidOperationException($"{Name} created {adapters.Count} adapters for {layers.Count} layers.");
        if (!Options.TrainScale) return adapters;
        return adapters.Select((a, i) => (LinearAdapter)new ScaledAdapter(a, layers[i].Layer)).ToList();
    }

    /// <summary>Creates the method's own adapter for each layer, in order (the combinations are added by <see cref="CreateAdapters"/>).</summary>
    protected abstract IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers);

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

    /// <summary>Checks <see cref="PeftOptions.Rank"/> ≥ 1.</summary>
    protected void RequireRank() => Require(Options.Rank >= 1, nameof(PeftOptions.Rank), Options.Rank, "an integer ≥ 1");

    /// <summary>Checks the adapter-branch <see cref="PeftOptions.Dropout"/> is a probability in [0, 1).</summary>
    protected void RequireDropout() =>
        Require(Options.Dropout >= 0 && Options.Dropout < 1, nameof(PeftOptions.Dropout), Options.Dropout, "a probability in [0, 1)");

    /// <summary>
    /// <paramref name="extras"/> plus, with <see cref="PeftOptions.TrainAllBiases"/> (PEFT's <c>bias = "all"</c>, honoured by
    /// the methods that read it: LoRA, DoRA, VeRA), every bias of the model that no adapter owns, each once.
    /// </summary>
    protected IEnumerable<(string Name, Parameter Parameter)> WithAllBiases(IEnumerable<(string Name, Parameter Parameter)> extras, nn.Module root)
    {
        var result = extras.ToList();
        if (!Options.TrainAllBiases) return result;
        var seen = result.Select(e => e.Name).ToHashSet();
        var adapterOwned = AdapterParameterHandles(root);
        foreach (var (name, p) in root.named_parameters())
            if ((name == "bias" || name.EndsWith(".bias", StringComparison.Ordinal)) && !adapterOwned.Contains(p.Handle) && seen.Add(name))
                result.Add((name, p));
        return result;
    }

    /// <summary>The handles of every parameter that an adapter in <paramref name="root"/> owns (never an extra).</summary>
    protected static HashSet<IntPtr> AdapterParameterHandles(nn.Module root)
    {
        var owned = new HashSet<IntPtr>();
        foreach (var (_, module) in root.named_modules())
            if (module is LinearAdapter adapter)
                foreach (var p in adapter.parameters()) owned.Add(p.Handle);
        return owned;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
