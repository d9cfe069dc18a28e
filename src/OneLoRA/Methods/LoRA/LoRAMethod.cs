using TorchSharp.Modules;

namespace OneLoRA.Methods.LoRA;

/// <summary>
/// The LoRA strategy: one <see cref="LoRAAdapter"/> per target layer. Options, validation, scaling and the PEFT config
/// are the LoRA family's (<see cref="LowRankMethod"/>).
/// </summary>
public sealed class LoRAMethod : LowRankMethod
{
    /// <summary>LoRA with the given options.</summary>
    /// <exception cref="System.ArgumentException">Rank &lt; 1, Alpha &lt; 0 or Dropout outside [0, 1).</exception>
    public LoRAMethod(PeftOptions options) : base(options) { }

    /// <summary>LoRA with default options (r = 1, α = r).</summary>
    public LoRAMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "LoRA";

    /// <inheritdoc />
    protected override bool UseDora => false;

    /// <inheritdoc />
    protected override LowRankAdapter CreateAdapter(Linear layer, int rank, double scaling) =>
        new LoRAAdapter(layer, rank, scaling, Options.Dropout);
}
