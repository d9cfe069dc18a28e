// Method switching by configuration: appsettings.json's "Peft" section (or Peft__Method=LoRA in the
// environment) chooses the PEFT method of an annotated model and of a third-party model attached at run time.
//
//   dotnet run --project samples/MethodSwitch                       # 1LoRA
//   Peft__Method=LoRA Peft__Rank=4 dotnet run --project samples/MethodSwitch
//   Peft__Method=OutputScale dotnet run --project samples/MethodSwitch   # the plugin from samples/PluginMethod

using System;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneLoRA;
using OneLoRA.DependencyInjection;
using OneLoRA.Samples.MethodSwitch;
using OneLoRA.Samples.PluginMethod;
using static TorchSharp.torch;

var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: false)
    .AddEnvironmentVariables()
    .Build();

var services = new ServiceCollection();
services.AddLogging(b => b.AddConfiguration(configuration.GetSection("Logging")).AddSimpleConsole(o => o.SingleLine = true));
services.AddOneLoRA(configuration.GetSection(OneLoRAServiceCollectionExtensions.SectionName));
services.AddPeftMethod<OutputScaleMethod>("OutputScale", "ia3-scale");   // the plugin point

using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
try
{
    // What a generic host does on start: a bad "Peft" section stops the app here, naming the option.
    provider.GetRequiredService<IStartupValidator>().Validate();
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"Invalid Peft configuration:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", e.Failures)}");
    return 2;
}

var methods = provider.GetRequiredService<IPeftMethodFactory>();
var attacher = provider.GetRequiredService<IPeftAttacher>();
var log = provider.GetRequiredService<ILoggerFactory>().CreateLogger("MethodSwitch");
int pretrainSteps = configuration.GetValue("Training:PretrainSteps", 200);
int fineTuneSteps = configuration.GetValue("Training:FineTuneSteps", 150);
double lr = configuration.GetValue("Training:LearningRate", 0.01);
log.LogInformation("Configured method: {Method} (registered: {Names})", methods.Options.Method, string.Join(", ", methods.Names));

// Two related regression tasks: pretrain on A, fine-tune on B = A with a shifted, rescaled output.
manual_seed(0);
using var teacher = randn(16, 4);
using var x = randn(512, 16);
using var taskA = tanh(x.matmul(teacher));
using var taskB = taskA * 1.5 + 0.3;

// 1) Annotated model: generated AttachAdapters with the configured method.
var model = new TinyMlp(16, 32, 4);
Train(model, model.parameters(), taskA, pretrainSteps, "pretrain (all weights)");
// The attacher logs the adapted layers and PEFT's trainable-parameter line (per-layer counts at Debug).
var attachment = attacher.Attach(model, m => model.AttachAdapters(m));
Train(model, model.TrainableParameters(), taskB, fineTuneSteps, $"fine-tune ({attachment.Method.Name})");
CheckMerge(model, attachment);

// 2) A third-party model nobody can annotate: runtime attach by the configured Targets/Exclude
//    (for the annotated model above, the attribute's Targets decide at compile time).
//    Runtime attach works through forward hooks, so the model must call its layers with call() (Sequential does).
var thirdParty = nn.Sequential(("fc1", nn.Linear(16, 32)), ("act1", nn.Tanh()), ("fc2", nn.Linear(32, 32)), ("act2", nn.Tanh()), ("head", nn.Linear(32, 4)));
Train(thirdParty, thirdParty.parameters(), taskA, pretrainSteps, "pretrain third-party (all weights)");
var runtime = attacher.AttachRuntime(thirdParty);
Train(thirdParty, runtime.TrainableParameters(), taskB, fineTuneSteps, $"fine-tune third-party ({runtime.Method.Name})");
CheckMerge(thirdParty, runtime);
return 0;

void Train(nn.Module<Tensor, Tensor> net, System.Collections.Generic.IEnumerable<TorchSharp.Modules.Parameter> parameters, Tensor target, int steps, string label)
{
    using var optimizer = optim.AdamW(parameters, lr: lr);
    double first = 0, last = 0;
    for (int step = 0; step < steps; step++)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var loss = nn.functional.mse_loss(net.call(x), target);
        loss.backward();
        optimizer.step();
        last = loss.item<float>();
        if (step == 0) first = last;
    }
    log.LogInformation("{Label}: loss {First:F4} -> {Last:F4} in {Steps} steps", label, first, last, steps);
}

void CheckMerge(nn.Module<Tensor, Tensor> net, PeftAttachment adapters)
{
    using var scope = NewDisposeScope();
    var unmerged = net.call(x);
    adapters.Merge();
    var merged = net.call(x);
    log.LogInformation("merged vs unmerged output: max |diff| = {Diff:E2}", (merged - unmerged).abs().max().item<float>());
    adapters.Unmerge();
}
