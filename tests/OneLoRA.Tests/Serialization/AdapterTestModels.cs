using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Serialization;

/// <summary>fc1 (4→hidden) → LayerNorm → ReLU → fc2 (hidden→3), weights drawn from a seeded generator.</summary>
internal sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly LayerNorm norm;
    private readonly Linear fc2;

    public TinyNet(long hidden = 5, ulong seed = 1) : base(nameof(TinyNet))
    {
        fc1 = nn.Linear(4, hidden);
        norm = nn.LayerNorm(hidden);
        fc2 = nn.Linear(hidden, 3);
        RegisterComponents();
        using var generator = new Generator(seed, device: CPU);
        using (no_grad())
            foreach (var p in parameters())
                p.copy_(randn(p.shape, generator: generator));
    }

    public Linear Fc1 => fc1;

    public Linear Fc2 => fc2;

    /// <summary>The two linear layers; the second may be given another path to model a renamed layer.</summary>
    public List<TargetLayer> Targets(string secondPath = "fc2") => [new("fc1", fc1), new(secondPath, fc2)];

    public override Tensor forward(Tensor x) => fc2.call(nn.functional.relu(norm.call(fc1.call(x))));

    /// <summary>A fixed input batch.</summary>
    public static Tensor Input(ulong seed = 7)
    {
        using var generator = new Generator(seed, device: CPU);
        return randn([6, 4], generator: generator);
    }
}

internal static class AdapterValues
{
    /// <summary>Overwrites every floating tensor of the adapter file (adapters, shared, extras) with seeded noise.</summary>
    public static void Randomize(PeftAttachment attachment, ulong seed = 3)
    {
        using var generator = new Generator(seed, device: CPU);
        using var scope = NewDisposeScope();
        using (no_grad())
            foreach (var (_, t) in attachment.AdapterStateDict())
                if (t.is_floating_point())
                    t.copy_(randn(t.shape, generator: generator).to(t.dtype));
    }

    /// <summary>Copies of every tensor of the adapter file, as float64, keyed as in the file.</summary>
    public static Dictionary<string, double[]> Snapshot(PeftAttachment attachment) =>
        attachment.AdapterStateDict().ToDictionary(kv => kv.Key, kv =>
        {
            using var d = kv.Tensor.detach().to(ScalarType.Float64).contiguous();
            return d.data<double>().ToArray();
        });

    public static Dictionary<string, double[]> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv =>
        {
            using var d = kv.Value.detach().to(ScalarType.Float64).contiguous();
            return d.data<double>().ToArray();
        });
}

/// <summary>
/// Test double of a PEFT method: creates the given adapters, trains nothing else. Stands in for LoRA/DoRA/VeRA
/// so the PEFT key names of the adapter file can be checked before those methods land.
/// </summary>
internal sealed class FakeMethod(string name, string peftType, Func<IReadOnlyList<TargetLayer>, IReadOnlyList<LinearAdapter>> create,
    IReadOnlyDictionary<string, object?>? config = null) : IPeftMethod
{
    public string Name => name;

    public string PeftType => peftType;

    public IReadOnlyDictionary<string, object?> ConfigEntries => config ?? new Dictionary<string, object?>();

    public IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers) => create(layers);

    public IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers) => [];

    public static FakeMethod LoRA(int r, bool dora = false) => new(dora ? "DoRA" : "LoRA", "LORA",
        layers => layers.Select(l => (LinearAdapter)new FakeLoRAAdapter(l.Layer, r, dora)).ToList(),
        new Dictionary<string, object?> { ["r"] = r, ["lora_alpha"] = 2 * r, ["use_dora"] = dora });

    public static FakeMethod VeRA(int r) => new("VeRA", "VERA", layers =>
    {
        // One pair of projections sized for the largest layer, shared by every adapter (as VeRA does).
        var kMax = layers.Max(l => l.Layer.in_features);
        var dMax = layers.Max(l => l.Layer.out_features);
        var shared = new VeRAProjections(zeros(r, kMax), zeros(dMax, r));
        return layers.Select(l => (LinearAdapter)new FakeVeRAAdapter(l.Layer, r, shared)).ToList();
    }, new Dictionary<string, object?> { ["r"] = r, ["projection_prng_key"] = 0 });
}

/// <summary>LoRA's parameters under PEFT's names: ΔW = B·A (DoRA's magnitude is stored, not applied: names only).</summary>
internal sealed class FakeLoRAAdapter : LinearAdapter
{
    private readonly Parameter lora_A;
    private readonly Parameter lora_B;
    private readonly Parameter? lora_magnitude_vector;

    public FakeLoRAAdapter(Linear layer, int r, bool dora) : base("lora", layer)
    {
        lora_A = new Parameter(zeros(r, InFeatures));
        lora_B = new Parameter(zeros(OutFeatures, r));
        if (dora) lora_magnitude_vector = new Parameter(ones(OutFeatures));
        RegisterComponents();
    }

    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput + matmul(matmul(x, lora_A.t()), lora_B.t());

    protected override void MergeInto(Linear layer) => AddInPlace(layer.weight!, matmul(lora_B, lora_A));

    protected override void UnmergeFrom(Linear layer) => AddInPlace(layer.weight!, matmul(lora_B, lora_A), alpha: -1);

    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("lora_A.weight", lora_A);
        yield return ("lora_B.weight", lora_B);
        if (lora_magnitude_vector is not null) yield return ("lora_magnitude_vector", lora_magnitude_vector);
    }
}

internal sealed record VeRAProjections(Tensor A, Tensor B);

/// <summary>VeRA's per-layer scales under PEFT's names; the frozen projections are shared across layers.</summary>
internal sealed class FakeVeRAAdapter : LinearAdapter
{
    private readonly Parameter vera_lambda_b;
    private readonly Parameter vera_lambda_d;
    private readonly VeRAProjections shared;

    public FakeVeRAAdapter(Linear layer, int r, VeRAProjections shared) : base("vera", layer)
    {
        vera_lambda_b = new Parameter(zeros(OutFeatures));
        vera_lambda_d = new Parameter(full(r, 0.1f));
        this.shared = shared;
        RegisterComponents();
    }

    private Tensor Delta() =>
        matmul(vera_lambda_b.unsqueeze(1) * shared.B[..(int)OutFeatures], vera_lambda_d.unsqueeze(1) * shared.A[.., ..(int)InFeatures]);

    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput + matmul(x, Delta().t());

    protected override void MergeInto(Linear layer) => AddInPlace(layer.weight!, Delta());

    protected override void UnmergeFrom(Linear layer) => AddInPlace(layer.weight!, Delta(), alpha: -1);

    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("vera_lambda_b", vera_lambda_b);
        yield return ("vera_lambda_d", vera_lambda_d);
    }

    public override IEnumerable<(string Key, Tensor Tensor)> SharedTensors()
    {
        yield return ("vera_A", shared.A);
        yield return ("vera_B", shared.B);
    }
}

/// <summary>An adapter whose tensor enumeration can be made to fail midway, to test that saving is all-or-nothing.</summary>
internal sealed class FailingAdapter : LinearAdapter
{
    private readonly Parameter first;
    private readonly Parameter second;

    public FailingAdapter(Linear layer) : base("failing", layer)
    {
        first = new Parameter(ones(OutFeatures));
        second = new Parameter(ones(OutFeatures));
        RegisterComponents();
    }

    public bool FailMidway { get; set; }

    public override Tensor Adapt(Linear layer, Tensor x, Tensor baseOutput) => baseOutput;

    protected override void MergeInto(Linear layer) { }

    protected override void UnmergeFrom(Linear layer) { }

    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors()
    {
        yield return ("first", first);
        if (FailMidway) throw new InvalidOperationException("adapter tensors failed midway");
        yield return ("second", second);
    }
}
