using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA;
using OneLoRA.Methods.BitFit;
using OneLoRA.Methods.DiffFit;
using OneLoRA.Methods.DoRA;
using OneLoRA.Methods.Full;
using OneLoRA.Methods.LoRA;
using OneLoRA.Methods.MoRA;
using OneLoRA.Methods.OneLoRA;
using OneLoRA.Methods.VeRA;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>The method configurations every shared test runs over, by id, and the independent math they are checked against.</summary>
public static class MethodCases
{
    /// <summary>Case id → options. "+scale" adds TrainScale; the rest are registry names plus options.</summary>
    public static PeftOptions Options(string id)
    {
        var scale = id.EndsWith("+scale", StringComparison.Ordinal);
        var name = scale ? id[..^"+scale".Length] : id;
        var o = name switch
        {
            "LoRA-r3-rs" => new PeftOptions { Method = "LoRA", Rank = 3, Alpha = 5, UseRsLoRA = true },
            "DoRA-r2" => new PeftOptions { Method = "DoRA", Rank = 2, Alpha = 3 },
            "VeRA-r4" => new PeftOptions { Method = "VeRA", Rank = 4, ProjectionPrngKey = 7, VeRADInitial = 0.2 },
            "MoRA1-rule" => new PeftOptions { Method = "MoRA1", MoRARankRule = MoRARankRule.MoRA, Rank = 2 },
            "MoRA6-rule" => new PeftOptions { Method = "MoRA6", MoRARankRule = MoRARankRule.MoRA, Rank = 2 },
            _ => new PeftOptions { Method = name },
        };
        o.TrainScale = scale;
        return o;
    }

    /// <summary>Every method, a few non-default settings, and the TrainScale combination on several methods.</summary>
    public static readonly string[] All =
    [
        "OneLoRA", "LoRA", "LoRA-r3-rs", "DoRA", "DoRA-r2", "VeRA", "VeRA-r4", "MoRA1", "MoRA6", "MoRA1-rule", "MoRA6-rule",
        "BitFit", "DiffFit", "Full", "OneLoRA+scale", "LoRA+scale", "DoRA+scale", "MoRA6+scale", "BitFit+scale",
    ];

    /// <summary>One row per case for [MemberData].</summary>
    public static IEnumerable<object[]> AllCases => All.Select(id => new object[] { id });

    /// <summary>
    /// Adds Gaussian noise from <paramref name="g"/> to every trainable parameter of an adapter so its contribution is
    /// not zero. LoRA's and DoRA's A are first redrawn from <paramref name="g"/> with their init, U(±1/√k): the library
    /// draws them from the global RNG, which parallel tests share.
    /// </summary>
    public static void Perturb(LinearAdapter adapter, Generator g, double scale = 0.3)
    {
        using var _ = no_grad();
        var inner = adapter is ScaledAdapter s ? s.Inner : adapter;
        var a = inner switch { LoRAAdapter l => l.LoraA, DoRAAdapter d => d.LoraA, _ => null };
        a?.uniform_(-1 / Math.Sqrt(a.shape[1]), 1 / Math.Sqrt(a.shape[1]), g);
        foreach (var p in adapter.TrainableParameters())
            p.add_(randn(p.shape, dtype: p.dtype, device: p.device, generator: g).mul_(scale));
    }

    /// <summary>
    /// The weight and bias the adapted layer is equivalent to, computed from the method's formula (paper /
    /// METHODS.md) with explicit matrices in float64, from the adapter's parameter values and the original W0, β0.
    /// </summary>
    public static (Tensor Weight, Tensor? Bias) ExpectedWeights(LinearAdapter adapter, Tensor w0, Tensor? b0)
    {
        w0 = w0.to(ScalarType.Float64);
        b0 = b0?.to(ScalarType.Float64);
        long d = w0.shape[0], k = w0.shape[1];
        Tensor F(Tensor t) => t.detach().to(ScalarType.Float64);
        switch (adapter)
        {
            case ScaledAdapter s:
                {
                    var (w, b) = ExpectedWeights(s.Inner, w0, b0);
                    var g = F(s.Gamma);
                    return (w * g.unsqueeze(1), b is null ? null : b * g);
                }
            case OneLoRAAdapter o:
                return (w0 + F(o.DecompressionVector).unsqueeze(1) * ones(1, k, dtype: ScalarType.Float64), b0);
            case LoRAAdapter l:
                return (w0 + l.Scaling * F(l.LoraB).mm(F(l.LoraA)), b0);
            case DoRAAdapter dora:
                {
                    var v = w0 + dora.Scaling * F(dora.LoraB).mm(F(dora.LoraA));
                    var norms = v.pow(2).sum(1).sqrt();
                    return (v * (F(dora.Magnitude) / norms).unsqueeze(1), b0);
                }
            case VeRAAdapter vera:
                {
                    var a = F(vera.Projections.A)[.., ..(int)k];
                    var bb = F(vera.Projections.B)[..(int)d, ..];
                    var delta = diag(F(vera.LambdaB)).mm(bb).mm(diag(F(vera.LambdaD))).mm(a);
                    return (w0 + delta, b0);
                }
            case MoRAAdapter mora:
                return (w0 + MoRAReference.DeltaWeight(mora.Type, F(mora.Matrix), k, d), b0);
            case BitFitAdapter bit:
                return (w0, F(bit.Bias));
            case DiffFitAdapter diff:
                {
                    var g = F(diff.Gamma);
                    return (w0 * g.unsqueeze(1), g * F(diff.Beta));
                }
            case FullAdapter:
                return (w0, b0);
            default:
                throw new ArgumentException($"No explicit formula for {adapter.GetType().Name}.");
        }
    }

    /// <summary>Max |a − b| as a double.</summary>
    public static double MaxAbs(Tensor a, Tensor b) => (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();

    /// <summary>Max |a − b| / max |b|.</summary>
    public static double RelDiff(Tensor a, Tensor b) => MaxAbs(a, b) / Math.Max(b.to(ScalarType.Float64).abs().max().item<double>(), 1e-300);
}

/// <summary>One Linear layer as a model: attach, merge and forward through its hook.</summary>
public sealed class SingleLinear : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin;

    /// <summary>A k→d layer with random weights drawn from <paramref name="seed"/> (bias ~ N(0, 0.5²)).</summary>
    public SingleLinear(long k, long d, bool bias = true, ScalarType dtype = ScalarType.Float64, long seed = 1) : base(nameof(SingleLinear))
    {
        lin = nn.Linear(k, d, hasBias: bias, dtype: dtype);
        RegisterComponents();
        using var g = TestRng.Create(seed);
        this.Init(g);
        if (bias)
            using (no_grad()) lin.bias!.normal_(0, 0.5, g);
    }

    /// <summary>The layer.</summary>
    public Linear Layer => lin;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => lin.call(x);

    /// <summary>Attaches a method to the one layer.</summary>
    public PeftAttachment Attach(IPeftMethod method) => Peft.Attach(this, [new TargetLayer("lin", lin)], method);
}

/// <summary>LayerNorm → fc1 (with bias) → tanh → fc2 (without bias): norms, biased and bias-free layers.</summary>
public sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>in → hidden → out.</summary>
    public TinyNet(long input, long hidden, long output, ScalarType dtype = ScalarType.Float64, long seed = 1) : base(nameof(TinyNet))
    {
        norm = nn.LayerNorm(input, dtype: dtype);
        fc1 = nn.Linear(input, hidden, dtype: dtype);
        fc2 = nn.Linear(hidden, output, hasBias: false, dtype: dtype);
        RegisterComponents();
        this.Init(seed);
    }

    /// <summary>The norm layer.</summary>
    public LayerNorm Norm => norm;

    /// <summary>The first layer (biased).</summary>
    public Linear Fc1 => fc1;

    /// <summary>The second layer (no bias).</summary>
    public Linear Fc2 => fc2;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => fc2.call(fc1.call(norm.call(x)).tanh());

    /// <summary>Attaches a method to both linear layers.</summary>
    public PeftAttachment Attach(IPeftMethod method) =>
        Peft.Attach(this, [new TargetLayer("fc1", fc1), new TargetLayer("fc2", fc2)], method);
}
