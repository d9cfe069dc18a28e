using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Samples.MethodSwitch;

/// <summary>
/// An annotated model: the attribute names the compile-time default method and which layers are adapted;
/// configuration picks the method actually used at run time (<c>model.AttachAdapters(method)</c>).
/// </summary>
[Peft(Method.OneLoRA, Targets = "fc*")]
public partial class TinyMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2, fc3;

    /// <summary>A 3-layer perceptron.</summary>
    public TinyMlp(int inputs, int hidden, int outputs) : base(nameof(TinyMlp))
    {
        fc1 = nn.Linear(inputs, hidden);
        fc2 = nn.Linear(hidden, hidden);
        fc3 = nn.Linear(hidden, outputs);
        RegisterComponents();
    }

    /// <inheritdoc />
    // Plain forward() calls: the generated interceptors route them through the adapters.
    public override Tensor forward(Tensor x) => fc3.forward(tanh(fc2.forward(tanh(fc1.forward(x)))));
}
