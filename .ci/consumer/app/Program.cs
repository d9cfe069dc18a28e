// The consumer check: [Peft] (generator + interceptors), DI (AddOneLoRA + IPeftAttacher), merge == unmerged.
// Prints what it measured; exits 1 when the adapters do not reach forward() or merged differs from unmerged.
using System;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using OneLoRA;
using OneLoRA.DependencyInjection;
using TorchSharp.Modules;
using static TorchSharp.torch;

TorchRuntime.EnsureLoaded();

var services = new ServiceCollection();
services.AddLogging();
services.AddOneLoRA(o => { o.Method = "LoRA"; o.Rank = 2; });
using var provider = services.BuildServiceProvider();
var attacher = provider.GetRequiredService<IPeftAttacher>();

var g = new Generator(7);
var model = new ConsumerMlp();
model.eval();
using var x = randn(new long[] { 8, 16 }, generator: g);
using var baseOutput = model.forward(x).detach();

var attachment = attacher.Attach(model, m => model.AttachAdapters(m));
using (no_grad())
    foreach (var p in attachment.TrainableParameters())
        p.add_(randn(p.shape, generator: g).mul_(0.1));

using var unmerged = model.forward(x).detach();
attachment.Merge();
using var merged = model.forward(x).detach();

double adapterEffect = unmerged.sub(baseOutput).abs().max().item<float>();
double mergeError = merged.sub(unmerged).abs().max().item<float>();
var framework = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
Console.WriteLine($"consumer ({framework}): method {attachment.Method.Name}, adapted [{string.Join(", ", attachment.Layers.Select(l => l.Path))}], " +
                  $"trainable {attachment.Report().Trainable}, max |unmerged - base| = {adapterEffect:E2}, max |merged - unmerged| = {mergeError:E2}");
if (attachment.Layers.Count != 2 || !(adapterEffect > 1e-3)) { Console.Error.WriteLine("FAIL: the adapters did not reach forward()."); return 1; }
if (!(mergeError <= 1e-5)) { Console.Error.WriteLine("FAIL: merged output differs from unmerged."); return 1; }
Console.WriteLine("consumer OK");
return 0;

[Peft(Method.OneLoRA, Targets = "fc*")]
public partial class ConsumerMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1 = nn.Linear(16, 32), fc2 = nn.Linear(32, 4);
    private readonly Linear gate = nn.Linear(16, 4);   // not adapted, not [NoPeft]: the build must report OLORA001 for it

    public ConsumerMlp() : base(nameof(ConsumerMlp)) => RegisterComponents();

    public override Tensor forward(Tensor x) => fc2.forward(nn.functional.tanh(fc1.forward(x))).add(gate.forward(x));
}
