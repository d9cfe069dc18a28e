using System;
using System.Linq;
using GeneratedMlp;
using OneLoRA;
using TorchSharp;
using static TorchSharp.torch;

// Synthetic task a 1LoRA model can solve exactly: the teacher is the frozen base model with every weight
// shifted by a rank-one b·1ᵀ (what 1LoRA learns). The student starts from the base and trains only its b vectors.
const int Inputs = 16, Hidden = 64, Outputs = 4, Steps = 300, Batch = 128;

torch.manual_seed(0);
var student = new Mlp(Inputs, Hidden, Outputs);
torch.manual_seed(0);
var teacher = new Mlp(Inputs, Hidden, Outputs);
using (no_grad())
{
    foreach (var (name, p) in teacher.named_parameters().Where(p => p.name.EndsWith("weight")))
        p.add_(randn(p.shape[0], 1) * 0.05);   // row i gets b[i] in every column: ΔW = b·1ᵀ
}

var attachment = student.AttachAdapters();                      // generated: the [Peft] attribute's method
var optimizer = optim.AdamW(student.TrainableParameters(), lr: 0.01);
var schedule = optim.lr_scheduler.StepLR(optimizer, step_size: 100, gamma: 0.2);

Console.WriteLine($"Adapted layers: {string.Join(", ", attachment.Layers.Select(l => l.Path))}");
for (int step = 1; step <= Steps; step++)
{
    using var scope = NewDisposeScope();
    var x = randn(Batch, Inputs);
    Tensor target;
    using (no_grad()) target = teacher.forward(x);
    var loss = nn.functional.mse_loss(student.forward(x), target);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    schedule.step();
    if (step == 1 || step % 50 == 0) Console.WriteLine($"step {step,4}  loss {loss.item<float>():E3}");
}

Console.WriteLine(student.ParameterReport());

// Merged inference costs exactly the base model and gives the same outputs.
var probe = randn(256, Inputs);
using (no_grad())
{
    var adapted = student.forward(probe);
    student.MergeAdapters();
    var merged = student.forward(probe);
    student.UnmergeAdapters();
    var baseline = teacher.forward(probe);
    Console.WriteLine($"max |merged - adapted| = {(merged - adapted).abs().max().item<float>():E2}");
    Console.WriteLine($"test MSE to teacher    = {nn.functional.mse_loss(adapted, baseline).item<float>():E3}");
}
