using System.Linq;
using OneLoRA.Methods.OneLoRA;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Core;

/// <summary>Training behaviour: frozen base, learning adapters, no tensor leaks.</summary>
public sealed class OneLoRATrainingTests
{
    /// <summary>
    /// Task B = the frozen model with a row-constant shift ΔW = Δ·1ᵀ in both layers, reachable exactly by 1LoRA
    /// (b = Δ gives zero loss). The model has no LayerNorm in front of fc1 and the inputs have mean 0.5, so the token
    /// sums 1ᵀx that 1LoRA's update b·(1ᵀx) acts through are far from zero in both layers (a LayerNorm output sums to
    /// zero, which would make fc1's shift invisible and its adapter inert).
    /// </summary>
    private static (TwoLayer Student, Tensor X, Tensor Y) TransferTask(long seed = 11)
    {
        using var g = TestRng.Create(seed);
        var teacher = new TwoLayer(16, 32, 4, seed);
        using (no_grad())
        {
            teacher.fc1.weight!.add_(0.1 * randn(32, 1, generator: g));          // ΔW = Δ·1ᵀ
            teacher.fc2.weight!.add_(0.1 * randn(4, 1, generator: g));
        }
        var x = randn(256, 16, generator: g).add_(0.5);
        Tensor y;
        using (no_grad()) y = teacher.forward(x);
        return (new TwoLayer(16, 32, 4, seed), x, y);
    }

    /// <summary>fc1 → GELU → fc2, called the way generated interceptors call the layers.</summary>
    private sealed class TwoLayer : nn.Module<Tensor, Tensor>
    {
        public readonly TorchSharp.Modules.Linear fc1;
        public readonly TorchSharp.Modules.Linear fc2;

        public TwoLayer(int k, int hidden, int d, long seed) : base(nameof(TwoLayer))
        {
            fc1 = nn.Linear(k, hidden);
            fc2 = nn.Linear(hidden, d);
            RegisterComponents();
            this.Init(seed);
        }

        public TargetLayer[] Targets => [new("fc1", fc1), new("fc2", fc2)];

        public override Tensor forward(Tensor x) => PeftRuntime.Forward(fc2, nn.functional.gelu(PeftRuntime.Forward(fc1, x)));
    }

    private static double Step(TwoLayer model, optim.Optimizer opt, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        opt.zero_grad();
        var loss = nn.functional.mse_loss(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item<float>();
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Frozen_linears_with_1LoRA_learn_a_transfer_task(long seed)
    {
        var (model, x, y) = TransferTask(seed);
        var w1 = model.fc1.weight!.detach().clone();
        Peft.Attach(model, model.Targets, new OneLoRAMethod());
        var opt = optim.AdamW(model.TrainableParameters(), lr: 0.02);

        double first = Step(model, opt, x, y), last = first;
        for (int i = 0; i < 300; i++) last = Step(model, opt, x, y);

        Assert.True(last < 0.05 * first, $"loss {first} -> {last}");
        Assert.Equal(TestModels.Values(w1), TestModels.Values(model.fc1.weight!));   // base weights stay frozen
    }

    [Fact]
    public void Two_hundred_steps_leak_no_tensors()
    {
        var (model, x, y) = TransferTask();
        Peft.Attach(model, model.Targets, new OneLoRAMethod());
        var opt = optim.AdamW(model.TrainableParameters(), lr: 0.01);
        Step(model, opt, x, y);                                  // optimizer state is allocated on the first step

        var stats = DisposeScopeManager.Statistics;
        long liveBefore = stats.ThreadTotalLiveCount;
        for (int i = 0; i < 200; i++) Step(model, opt, x, y);

        Assert.Equal(liveBefore, stats.ThreadTotalLiveCount);
    }
}
