using System;
using System.Diagnostics;
using System.Linq;
using OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// Pretrain a small MLP on task A (regress teacher A), then fine-tune it to task B (a related teacher) with
// 1LoRA: every linear frozen, one trainable vector per layer. Prints loss, trainable parameters and time.
TorchRuntime.EnsureLoaded();
torch.set_num_threads(Environment.ProcessorCount);

var (xA, yA) = Task(seed: 1, shift: 0.0);
var (xB, yB) = Task(seed: 1, shift: 0.4);

var model = new Regressor();
var watch = Stopwatch.StartNew();
Console.WriteLine("Pretraining on task A (all parameters)...");
Train(model, optim.AdamW(model.parameters(), lr: 3e-3), xA, yA, steps: 600);
Console.WriteLine($"  task A loss {Loss(model, xA, yA):F4}, task B loss before fine-tuning {Loss(model, xB, yB):F4} ({watch.Elapsed.TotalSeconds:F1} s)");

var attachment = Peft.Attach(model, model.Targets, PeftMethods.Create("OneLoRA"));
Console.WriteLine(attachment.Report());
watch.Restart();
Console.WriteLine("Fine-tuning to task B with 1LoRA...");
Train(model, optim.AdamW(attachment.TrainableParameters(), lr: 1e-2), xB, yB, steps: 400);
Console.WriteLine($"  task B loss after fine-tuning {Loss(model, xB, yB):F4} ({watch.Elapsed.TotalSeconds:F1} s)");

attachment.Merge();
Console.WriteLine($"  merged into the base weights: task B loss {Loss(model, xB, yB):F4} at the base model's inference cost");

static void Train(Regressor model, optim.Optimizer opt, Tensor x, Tensor y, int steps)
{
    for (int step = 1; step <= steps; step++)
    {
        using var scope = NewDisposeScope();
        opt.zero_grad();
        var loss = nn.functional.mse_loss(model.forward(x), y);
        loss.backward();
        opt.step();
        if (step % 100 == 0) Console.WriteLine($"  step {step,4}  loss {loss.item<float>():F4}");
    }
}

static double Loss(Regressor model, Tensor x, Tensor y)
{
    using var _ = no_grad();
    using var scope = NewDisposeScope();
    return nn.functional.mse_loss(model.forward(x), y).item<float>();
}

// A smooth random teacher; task B shifts its hidden pre-activations — the kind of change 1LoRA's ΔW = b·1ᵀ captures.
static (Tensor X, Tensor Y) Task(int seed, double shift)
{
    var g = new Generator((ulong)seed);
    var w1 = randn(64, 16, generator: g) / 4;
    var w2 = randn(1, 64, generator: g) / 8;
    var x = randn(2048, 16, generator: g);
    var h = nn.functional.gelu(matmul(x, w1.T) + shift * x.sum(-1, keepdim: true));
    return (x, matmul(h, w2.T));
}

sealed class Regressor : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1 = nn.Linear(16, 64), fc2 = nn.Linear(64, 64), fc3 = nn.Linear(64, 1);

    public Regressor() : base(nameof(Regressor)) => RegisterComponents();

    public TargetLayer[] Targets => [new("fc1", fc1), new("fc2", fc2), new("fc3", fc3)];

    public override Tensor forward(Tensor x)
    {
        var h = nn.functional.gelu(PeftRuntime.Forward(fc1, x));
        h = nn.functional.gelu(PeftRuntime.Forward(fc2, h));
        return PeftRuntime.Forward(fc3, h);
    }
}
