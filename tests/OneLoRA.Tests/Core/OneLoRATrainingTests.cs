using System.Linq;
using OneLoRA.Methods.OneLoRA;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Core;

/// <summary>Training behaviour: frozen base, learning adapters, no tensor leaks.</summary>
public sealed class OneLoRATrainingTests
{
    /// <summary>Task B = the frozen model with a row-constant shift in both layers, which 1LoRA can represent exactly.</summary>
    private static (Mlp Student, Tensor X, Tensor Y) TransferTask()
    {
        var teacher = new Mlp(16, 32, 4, seed: 11);
        using (no_grad())
        {
            manual_seed(12);
            teacher.fc1.weight!.add_(0.3 * randn(32, 1));          // ΔW = b·1ᵀ
            teacher.fc2.weight!.add_(0.3 * randn(4, 1));
        }
        manual_seed(13);
        var x = randn(256, 16);
        Tensor y;
        using (no_grad()) y = teacher.fc2.forward(nn.functional.gelu(teacher.fc1.forward(teacher.norm.forward(x))));
        return (new Mlp(16, 32, 4, seed: 11), x, y);
    }

    private static double Step(Mlp model, optim.Optimizer opt, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        opt.zero_grad();
        var loss = nn.functional.mse_loss(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item<float>();
    }

    [Fact]
    public void Frozen_linears_with_1LoRA_learn_a_transfer_task()
    {
        var (model, x, y) = TransferTask();
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
