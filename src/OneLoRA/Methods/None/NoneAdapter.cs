using TorchSharp.Modules;

namespace OneLoRA.Methods.None;

/// <summary>
/// The None method's adapter: no parameters, the base output unchanged (<c>y = W0·x + β0</c>, a
/// <see cref="PassThroughAdapter"/>), merge and unmerge change nothing. It exists so attach, reports and files treat the
/// layer as for any method, and so TrainScale can wrap it (then <c>y = γ ⊙ (W0·x + β0)</c>: the paper's "γ" ablation).
/// </summary>
public sealed class NoneAdapter : PassThroughAdapter
{
    /// <param name="layer">The layer, left as it is.</param>
    public NoneAdapter(Linear layer) : base("none", layer)
    {
    }
}
