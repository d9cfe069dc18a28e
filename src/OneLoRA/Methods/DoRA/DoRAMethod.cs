using TorchSharp.Modules;

namespace OneLoRA.Methods.DoRA;

/// <summary>
/// The DoRA strategy: one <see cref="DoRAAdapter"/> per target layer. Options, validation, scaling and the PEFT config
/// are the LoRA family's (<see cref="LowRankMethod"/>): saved as PEFT does, <c>peft_type</c> LORA with <c>use_dora</c> true.
/// </summary>
public sealed class DoRAMethod : LowRankMethod
{
    /// <summary>DoRA with the given options.</summary>
    /// <exception cref="System.ArgumentException">Rank &lt; 1, Alpha &lt; 0 or Dropout outside [0, 1).</exception>
    public DoRAMethod(PeftOptions options) : base(options) { }

    /// <summary>DoRA with default options (r = 1, α = r).</summary>
    public DoRAMethod() : this(new PeftOptions()) { }

    /// <inheritdoc />
    public override string Name => "DoRA";

    /// <inheritdoc />
    protected override bool UseDora => true;

    /// <inheritdoc />
    protected override LowRankAdapter CreateAdapter(Linear layer, int rank, double scaling) =>
        new DoRAAdapter(layer, rank, scaling, Options.Dropout);
}
