using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA;
using Xunit;
using static OneLoRA.Tests.Methods.MethodCases;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>Which parameters each method trains, checked against gradients, and a short transfer run per method.</summary>
public sealed class MethodTrainingTests
{
    // Per method: the adapter's module name and its parameter names on every adapted layer, plus extra model parameters.
    private static readonly Dictionary<string, (string Module, string[] Params, string[] Extras)> Trained = new()
    {
        ["OneLoRA"] = ("onelora", ["b"], []),
        ["LoRA"] = ("lora", ["A", "B"], []),
        ["DoRA"] = ("dora", ["A", "B", "m"], []),
        ["VeRA"] = ("vera", ["lambda_b", "lambda_d"], []),
        ["MoRA1"] = ("mora", ["M"], []),
        ["MoRA6"] = ("mora", ["M"], []),
        ["BitFit"] = ("bitfit", ["bias"], []),
        ["DiffFit"] = ("difffit", ["gamma", "beta"], ["norm.weight", "norm.bias"]),
        ["Full"] = ("full", [], ["norm.weight", "norm.bias", "fc1.weight", "fc1.bias", "fc2.weight"]),
    };

    private static HashSet<string> ExpectedTrainable(string id, PeftOptions options)
    {
        var method = PeftMethods.Create(options);
        var key = Trained.Keys.Single(k => method.Name == k);
        var (module, names, extras) = Trained[key];
        var expected = new HashSet<string>(extras);
        foreach (var layer in new[] { "fc1", "fc2" })
        {
            var prefix = options.TrainScale && key is not ("DiffFit" or "Full") ? $"{layer}_scaled." : $"{layer}_";
            if (prefix.EndsWith("_scaled.", StringComparison.Ordinal)) expected.Add(prefix + "gamma");
            foreach (var n in names) expected.Add($"{prefix}{module}.{n}");
        }
        if (options.TrainNorms) { expected.Add("norm.weight"); expected.Add("norm.bias"); }
        if (options.TrainBiases && key is not ("BitFit" or "DiffFit")) expected.Add("fc1.bias");
        return expected;
    }

    public static IEnumerable<object[]> GradientCases =>
        AllCases.Concat([["LoRA+norms+biases"], ["OneLoRA+norms"], ["BitFit+biases"], ["VeRA+norms+biases+scale"]]);

    private static PeftOptions CaseOptions(string id)
    {
        var parts = id.Split('+');
        var o = Options(parts[0] + (parts.Contains("scale") ? "+scale" : ""));
        o.TrainNorms |= parts.Contains("norms");
        o.TrainBiases |= parts.Contains("biases");
        return o;
    }

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Gradients_reach_exactly_the_trained_parameters(string id)
    {
        using var g = TestRng.Create(51);
        using var model = new TinyNet(6, 10, 5, seed: 51);
        var options = CaseOptions(id);
        var attachment = model.Attach(PeftMethods.Create(options));
        foreach (var l in attachment.Layers) Perturb(l.Adapter, g);
        var expected = ExpectedTrainable(id, options);

        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToHashSet();
        Assert.True(expected.SetEquals(trainable), $"{id}: trainable {{{string.Join(", ", trainable.Order())}}} != expected {{{string.Join(", ", expected.Order())}}}");
        var reported = attachment.NamedTrainableParameters().Select(p => p.Name).ToHashSet();
        Assert.True(expected.SetEquals(reported), $"{id}: attachment reports {{{string.Join(", ", reported.Order())}}}");

        model.forward(randn(4, 6, dtype: ScalarType.Float64, generator: g)).square().sum().backward();
        foreach (var (name, p) in model.named_parameters())
        {
            if (expected.Contains(name)) Assert.True(p.grad is not null, $"{id}: trained '{name}' got no gradient");
            else Assert.True(p.grad is null, $"{id}: frozen '{name}' got a gradient");
        }
    }

    /// <summary>One synthetic transfer task for all methods: a teacher is the base model with shifted weights and biases.</summary>
    private sealed class TransferTask
    {
        public static readonly TransferTask Instance = new();

        private TransferTask()
        {
            // Own generator: tests run in parallel, so the global one gives no reproducible draws.
            using var g = new Generator(61, device: CPU);
            Tensor Draw(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);
            using var teacher = new TinyNet(8, 16, 4);
            using (no_grad())
            {
                // A pretrained norm is not the identity: a zero-mean LayerNorm output would give 1ᵀx = 0 exactly.
                teacher.Norm.weight!.copy_(Draw(8).mul_(0.3).add_(1));
                teacher.Norm.bias!.copy_(Draw(8).mul_(0.3).add_(0.5));
                teacher.Fc1.weight!.copy_(Draw(16, 8).div_(Math.Sqrt(8)));
                teacher.Fc1.bias!.copy_(Draw(16).mul_(0.1));
                teacher.Fc2.weight!.copy_(Draw(4, 16).div_(Math.Sqrt(16)));
            }
            BaseState = teacher.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            using (no_grad())
            {
                teacher.Fc1.weight!.add_(outer(Draw(16), Draw(8)).mul_(0.3));
                teacher.Fc1.bias!.add_(Draw(16).mul_(0.3));
                teacher.Fc2.weight!.add_(Draw(4, 16).mul_(0.2));
            }
            Inputs = Draw(256, 8).add_(0.5);
            using (no_grad()) Targets = teacher.forward(Inputs).detach().clone();
        }

        public Dictionary<string, Tensor> BaseState { get; }

        public Tensor Inputs { get; }

        public Tensor Targets { get; }
    }

    [Theory]
    [MemberData(nameof(AllCases), MemberType = typeof(MethodCases))]
    public void Short_training_run_lowers_the_transfer_loss(string id)
    {
        var task = TransferTask.Instance;
        using var g = TestRng.Create(71);
        using var model = new TinyNet(8, 16, 4, seed: 71);
        model.load_state_dict(task.BaseState);
        var attachment = model.Attach(PeftMethods.Create(Options(id)));
        using var optimizer = optim.AdamW(attachment.TrainableParameters(), lr: 0.02);
        double Loss()
        {
            using var _ = no_grad();
            return nn.functional.mse_loss(model.forward(task.Inputs), task.Targets).item<double>();
        }
        double initial = Loss();
        for (int step = 0; step < 100; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.mse_loss(model.forward(task.Inputs), task.Targets).backward();
            optimizer.step();
        }
        double final = Loss();
        Assert.True(final < 0.7 * initial, $"{id}: loss {initial:G4} → {final:G4} after 100 steps");
    }
}
