using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Core;

/// <summary>Small modules and conversions shared by the core tests.</summary>
internal static class TestModels
{
    public static Linear Layer(int k, int d, bool bias = true, ScalarType dtype = ScalarType.Float64, int seed = 1)
    {
        return nn.Linear(k, d, hasBias: bias, dtype: dtype).Init(seed);
    }

    public static double[] Values(Tensor t) => t.detach().to(ScalarType.Float64).contiguous().data<double>().ToArray();

    /// <summary>Fills a parameter in place (outside autograd).</summary>
    public static void Set(Tensor p, Tensor value)
    {
        using var _ = no_grad();
        p.copy_(value);
    }
}

/// <summary>One Linear inside a module, called the way generated interceptors call it.</summary>
internal sealed class OneLayer : nn.Module<Tensor, Tensor>
{
    public readonly Linear fc;

    public OneLayer(Linear layer) : base(nameof(OneLayer))
    {
        fc = layer;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => PeftRuntime.Forward(fc, x);
}

/// <summary>A frozen two-layer MLP with a LayerNorm, the shape of a transformer MLP block.</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public readonly LayerNorm norm;
    public readonly Linear fc1;
    public readonly Linear fc2;

    public Mlp(int k, int hidden, int d, ScalarType dtype = ScalarType.Float32, int seed = 7) : base(nameof(Mlp))
    {
        norm = nn.LayerNorm(k, dtype: dtype);
        fc1 = nn.Linear(k, hidden, dtype: dtype);
        fc2 = nn.Linear(hidden, d, dtype: dtype);
        RegisterComponents();
        this.Init(seed);
    }

    public TargetLayer[] Targets => [new("fc1", fc1), new("fc2", fc2)];

    public override Tensor forward(Tensor x) =>
        PeftRuntime.Forward(fc2, nn.functional.gelu(PeftRuntime.Forward(fc1, norm.forward(x))));
}
