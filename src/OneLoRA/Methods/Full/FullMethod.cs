using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Methods.Full;

/// <summary>
/// Full fine-tuning (the paper's "All" baseline): every parameter of the model is trained. The target layers get a
/// parameter-free <see cref="FullAdapter"/> so attach, merge and reports work as for any method; TrainScale is
/// switched off and TrainNorms/TrainBiases are implied.
/// </summary>
public sealed class FullMethod : PeftMethodBase
{
    /// <summary>Full fine-tuning with the given options.</summary>
    public FullMethod(PeftOptions options) : base(options) => Options.TrainScale = false;

    /// <summary>Full fine-tuning.</summary>
    public FullMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "Full";

    /// <inheritdoc />
    public override string PeftType => "FULL";

    /// <inheritdoc />
    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new FullAdapter(l.Layer)).ToList();

    /// <summary>Every parameter of <paramref name="root"/> (adapter parameters excepted), each once.</summary>
    public override IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers)
    {
        var adapterOwned = AdapterParameterHandles(root);
        var seen = new HashSet<IntPtr>();
        foreach (var (name, p) in root.named_parameters())
            if (!adapterOwned.Contains(p.Handle) && seen.Add(p.Handle))
                yield return (name, p);
    }
}
