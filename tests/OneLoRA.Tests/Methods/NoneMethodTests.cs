using System.Collections.Generic;
using System.Linq;
using OneLoRA;
using OneLoRA.Methods.None;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>The method that adds nothing: outputs stay the base model's, only the requested extras train.</summary>
public sealed class NoneMethodTests
{
    static NoneMethodTests() => TorchRuntime.EnsureLoaded();

    // NormMlp: norm (LayerNorm) → fc1 (biased) → tanh → fc2 (no bias); both linears targeted.
    public static IEnumerable<object[]> Cases =>
    [
        [false, false, false, new string[0]],
        [true, false, false, new[] { "norm.weight", "norm.bias" }],                       // "norms"
        [false, true, false, new[] { "fc1.bias" }],                                       // "β" (fc2 has no bias)
        [false, false, true, new[] { "fc1_scaled.gamma", "fc2_scaled.gamma" }],           // "γ"
        [true, true, true, new[] { "norm.weight", "norm.bias", "fc1.bias", "fc1_scaled.gamma", "fc2_scaled.gamma" }],
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Outputs_equal_the_base_model_and_exactly_the_extras_train(bool norms, bool biases, bool scale, string[] expected)
    {
        var g = new Generator(11);
        using var model = new NormMlp(g);
        var x = randn(new long[] { 3, 6 }, dtype: ScalarType.Float64, generator: g);
        // Independent base output, computed before attach from the module's own weights with explicit float64 math.
        var n = nn.functional.layer_norm(x, [6], model.Norm.weight!, model.Norm.bias!, 1e-5);
        var expectedOutput = n.matmul(model.Fc1.weight!.detach().t()).add(model.Fc1.bias!.detach()).tanh().matmul(model.Fc2.weight!.detach().t());

        var attachment = model.Attach(PeftMethods.Create(new PeftOptions { Method = "None", TrainNorms = norms, TrainBiases = biases, TrainScale = scale }));

        Assert.Equal("None", attachment.Method.Name);
        Assert.All(attachment.Layers, l => Assert.Equal(scale ? "scaled" : "none", l.Adapter.GetName()));
        Assert.Equal(expected.Order(), attachment.NamedTrainableParameters().Select(p => p.Name).Order());
        var trainableHandles = attachment.TrainableParameters().Select(p => p.Handle).ToHashSet();
        Assert.Equal(trainableHandles, model.parameters().Where(p => p.requires_grad).Select(p => p.Handle).ToHashSet());
        long extras = expected.Sum(name => name switch { "norm.weight" or "norm.bias" => 6L, "fc1.bias" or "fc1_scaled.gamma" => 5L, _ => 4L });
        Assert.Equal(extras, attachment.Report().Trainable);

        using (no_grad())
        {
            Assert.Equal(0.0, model.forward(x).sub(expectedOutput).abs().max().item<double>());
            attachment.Merge();
            Assert.Equal(0.0, model.forward(x).sub(expectedOutput).abs().max().item<double>());
            attachment.Unmerge();
            Assert.Equal(0.0, model.forward(x).sub(expectedOutput).abs().max().item<double>());
        }
    }

    [Theory]
    [InlineData("None")]
    [InlineData("none")]
    public void Is_registered_and_reads_no_method_option(string name)
    {
        var method = PeftMethods.Create(new PeftOptions { Method = name, Rank = 9, MoRAType = 6 });
        Assert.IsType<NoneMethod>(method);
        Assert.Equal("NONE", method.PeftType);
        Assert.True(PeftMethods.TryResolve(name, out var canonical));
        Assert.Equal("None", canonical);
        Assert.Equal(nameof(Method.None), canonical);
    }

    [Fact]
    public void Adapter_has_no_parameters_and_no_file_tensors()
    {
        using var layer = nn.Linear(3, 2, device: META);
        using var adapter = new NoneAdapter(layer);
        Assert.Empty(adapter.parameters());
        Assert.Empty(adapter.AdapterTensors());
    }

    /// <summary>TinyNet's shape with weights drawn from a test's own generator (no global RNG: xUnit runs classes in parallel).</summary>
    private sealed class NormMlp : nn.Module<Tensor, Tensor>
    {
        private readonly LayerNorm norm;
        private readonly Linear fc1, fc2;

        public NormMlp(Generator g) : base(nameof(NormMlp))
        {
            norm = nn.LayerNorm(6, dtype: ScalarType.Float64);   // ones and zeros: no random draw
            fc1 = nn.Linear(6, 5, dtype: ScalarType.Float64, device: META);
            fc2 = nn.Linear(5, 4, hasBias: false, dtype: ScalarType.Float64, device: META);
            fc1.weight = new Parameter(randn(new long[] { 5, 6 }, dtype: ScalarType.Float64, generator: g));
            fc1.bias = new Parameter(randn(new long[] { 5 }, dtype: ScalarType.Float64, generator: g));
            fc2.weight = new Parameter(randn(new long[] { 4, 5 }, dtype: ScalarType.Float64, generator: g));
            RegisterComponents();
        }

        public LayerNorm Norm => norm;

        public Linear Fc1 => fc1;

        public Linear Fc2 => fc2;

        public override Tensor forward(Tensor x) => fc2.call(fc1.call(norm.call(x)).tanh());

        public PeftAttachment Attach(IPeftMethod method) =>
            Peft.Attach(this, [new TargetLayer("fc1", fc1), new TargetLayer("fc2", fc2)], method);
    }
}
