using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneLoRA.DependencyInjection;
using OneLoRA.Samples.PluginMethod;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Samples.MethodSwitch;

/// <summary>What one run did: its exit code, the one-line error when it failed, and each model's merge check.</summary>
/// <param name="ExitCode"><see cref="MethodSwitchApp.Success"/>, <see cref="MethodSwitchApp.InvalidConfiguration"/> or <see cref="MethodSwitchApp.CannotAttach"/>.</param>
/// <param name="Error">The message printed to stderr, or null.</param>
/// <param name="Method">The method that ran, or null.</param>
/// <param name="MergeDifferences">max |merged − unmerged| of the annotated and the third-party model.</param>
public sealed record MethodSwitchResult(int ExitCode, string? Error, string? Method, IReadOnlyList<double> MergeDifferences);

/// <summary>
/// The sample's logic, callable from tests: configuration in, a PEFT method chosen by it, an annotated and a
/// third-party (Sequential) model fine-tuned with it and merged. Bad configuration ends in one line on stderr
/// naming the key and a documented exit code, never a stack trace.
/// </summary>
public static class MethodSwitchApp
{
    /// <summary>Exit code 0: both models trained and merged.</summary>
    public const int Success = 0;

    /// <summary>Exit code 2: the "Peft" section has an unknown key, a value of the wrong type or out of range, or an unknown method.</summary>
    public const int InvalidConfiguration = 2;

    /// <summary>Exit code 3: the configuration is valid but cannot be applied to the model (e.g. Targets match no layer).</summary>
    public const int CannotAttach = 3;

    /// <summary>appsettings.json next to the executable, then environment variables (<c>Peft__Method=LoRA</c>).</summary>
    public static IConfiguration DefaultConfiguration() => new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: false)
        .AddEnvironmentVariables()
        .Build();

    /// <summary>The option names the "Peft" section may hold (PeftOptions' settable properties, case-insensitive).</summary>
    public static IReadOnlyList<string> KnownKeys { get; } =
        typeof(PeftOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToList();

    /// <summary>
    /// Checks the "Peft" section the way the app starts: unknown keys first (named, with the known ones), then the
    /// binder's type conversion and <see cref="PeftOptionsValidator"/>'s ranges. Returns null when valid.
    /// </summary>
    public static string? ConfigurationError(IConfiguration configuration, IServiceProvider provider)
    {
        var section = configuration.GetSection(OneLoRAServiceCollectionExtensions.SectionName);
        foreach (var child in section.GetChildren())
            if (!KnownKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                return $"Invalid Peft configuration: unknown key '{child.Path}'. Known keys: {string.Join(", ", KnownKeys)}.";
        try
        {
            // What a generic host does on start: binds the section and runs the validators.
            provider.GetRequiredService<IStartupValidator>().Validate();
            return null;
        }
        catch (OptionsValidationException e)
        {
            return $"Invalid Peft configuration: {string.Join(" ", e.Failures)}";
        }
        catch (InvalidOperationException e)
        {
            // The binder: "Failed to convert configuration value '…' at 'Peft:Rank' to type 'System.Int32'."
            return $"Invalid Peft configuration: {FirstLine(e.Message)}";
        }
    }

    /// <summary>Runs the sample; <paramref name="error"/> receives the one-line error of a failed run.</summary>
    public static MethodSwitchResult Run(IConfiguration configuration, TextWriter error, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(error);
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.AddConfiguration(configuration.GetSection("Logging"));
            if (logging is null) b.AddSimpleConsole(o => o.SingleLine = true);
            else logging(b);
        });
        services.AddOneLoRA(configuration.GetSection(OneLoRAServiceCollectionExtensions.SectionName));
        services.AddPeftMethod<OutputScaleMethod>("OutputScale", "ia3-scale");   // the plugin point

        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        if (ConfigurationError(configuration, provider) is { } invalid)
            return Fail(error, InvalidConfiguration, invalid, null);

        var methods = provider.GetRequiredService<IPeftMethodFactory>();
        var attacher = provider.GetRequiredService<IPeftAttacher>();
        var log = provider.GetRequiredService<ILoggerFactory>().CreateLogger("MethodSwitch");
        int pretrainSteps, fineTuneSteps;
        double lr;
        try
        {
            pretrainSteps = configuration.GetValue("Training:PretrainSteps", 200);
            fineTuneSteps = configuration.GetValue("Training:FineTuneSteps", 150);
            lr = configuration.GetValue("Training:LearningRate", 0.01);
        }
        catch (InvalidOperationException e)
        {
            return Fail(error, InvalidConfiguration, $"Invalid Training configuration: {FirstLine(e.Message)}", null);
        }
        var method = methods.Options.Method;
        log.LogInformation("Configured method: {Method} (registered: {Names})", method, string.Join(", ", methods.Names));

        // Two related regression tasks: pretrain on A, fine-tune on B = A with a shifted, rescaled output.
        using var generator = new Generator(0, device: CPU);
        using var teacher = randn(16, 4, generator: generator);
        using var x = randn(512, 16, generator: generator);
        using var taskA = tanh(x.matmul(teacher));
        using var taskB = taskA * 1.5 + 0.3;
        var differences = new List<double>();

        // 1) Annotated model: generated AttachAdapters with the configured method.
        using var model = Seeded(new TinyMlp(16, 32, 4), generator);
        Train(model, model.parameters(), taskA, pretrainSteps, "pretrain (all weights)");
        PeftAttachment attachment;
        try
        {
            // The attacher logs the adapted layers and PEFT's trainable-parameter line (per-layer counts at Debug).
            attachment = attacher.Attach(model, m => model.AttachAdapters(m));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return Fail(error, CannotAttach, $"Cannot attach {method} to TinyMlp: {FirstLine(e.Message)}", method);
        }
        if (!attachment.TrainableParameters().Any())
            return Fail(error, InvalidConfiguration,
                $"Peft:Method {attachment.Method.Name} trains nothing on TinyMlp: set Peft:TrainNorms, Peft:TrainBiases or Peft:TrainScale (or choose another method).", method);
        Train(model, model.TrainableParameters(), taskB, fineTuneSteps, $"fine-tune ({attachment.Method.Name})");
        differences.Add(CheckMerge(model, attachment));

        // 2) A third-party model nobody can annotate: runtime attach by the configured Targets/Exclude (for the
        //    annotated model above, the attribute's Targets decide at compile time). Its root is a Sequential, so the
        //    adapters live in attachment.Host (a PeftRoot); the Sequential's call() runs them through forward hooks.
        using var thirdParty = Seeded(nn.Sequential(("fc1", nn.Linear(16, 32)), ("act1", nn.Tanh()), ("fc2", nn.Linear(32, 32)),
            ("act2", nn.Tanh()), ("head", nn.Linear(32, 4))), generator);
        Train(thirdParty, thirdParty.parameters(), taskA, pretrainSteps, "pretrain third-party (all weights)");
        PeftAttachment runtime;
        try
        {
            runtime = attacher.AttachRuntime(thirdParty);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return Fail(error, CannotAttach, $"Cannot attach {method} to the third-party Sequential: {FirstLine(e.Message)}", method);
        }
        Train(thirdParty, runtime.TrainableParameters(), taskB, fineTuneSteps, $"fine-tune third-party ({runtime.Method.Name})");
        differences.Add(CheckMerge(thirdParty, runtime));
        return new MethodSwitchResult(Success, null, attachment.Method.Name, differences);

        void Train(nn.Module<Tensor, Tensor> net, IEnumerable<Parameter> parameters, Tensor target, int steps, string label)
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

        double CheckMerge(nn.Module<Tensor, Tensor> net, PeftAttachment adapters)
        {
            using var scope = NewDisposeScope();
            var unmerged = net.call(x);
            adapters.Merge();
            var merged = net.call(x);
            var difference = (merged - unmerged).abs().max().item<float>();
            log.LogInformation("merged vs unmerged output: max |diff| = {Diff:E2}", difference);
            adapters.Unmerge();
            return difference;
        }
    }

    private static MethodSwitchResult Fail(TextWriter error, int code, string message, string? method)
    {
        error.WriteLine(message);
        return new MethodSwitchResult(code, message, method, []);
    }

    private static string FirstLine(string message) => message.Split('\n')[0].TrimEnd('\r');

    /// <summary>Draws every Linear's weight and bias (TorchSharp's default U(±1/√in)) from the run's own generator.</summary>
    private static T Seeded<T>(T model, Generator generator) where T : nn.Module
    {
        using var _ = no_grad();
        foreach (var (_, module) in model.named_modules())
            if (module is Linear linear)
            {
                var bound = 1 / Math.Sqrt(linear.in_features);
                linear.weight!.uniform_(-bound, bound, generator);
                linear.bias?.uniform_(-bound, bound, generator);
            }
        return model;
    }
}
