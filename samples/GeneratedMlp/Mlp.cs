using OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GeneratedMlp;

/// <summary>
/// A plain TorchSharp MLP. The attribute is the only PEFT-specific line: the generator adds AttachAdapters,
/// MergeAdapters, UnmergeAdapters and rewrites the fc*.forward / fc*.call calls below to go through the adapters.
/// </summary>
[Peft(Method.OneLoRA, Targets = "fc*")]
public partial class Mlp : nn.Module<Tensor, Tensor>
{
    // Field names are the registered names (TorchSharp's .to() writes back by name).
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Linear fc3;

    public Mlp(int inputs, int hidden, int outputs) : base(nameof(Mlp))
    {
        fc1 = nn.Linear(inputs, hidden);
        fc2 = nn.Linear(hidden, hidden);
        fc3 = nn.Linear(hidden, outputs);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = nn.functional.relu(fc1.forward(x));
        h = nn.functional.relu(fc2.forward(h));
        return fc3.call(h);
    }
}
