using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneLoRA.Methods.OneLoRA;
using Xunit;
using static TorchSharp.torch;
using OneLoRA.Tests;

namespace OneLoRA.DependencyInjection.Tests;

public sealed class AttachLoggingTests
{
    private readonly Generator g = TestRng.Create(29);

    private const string Category = "OneLoRA.DependencyInjection.PeftAttacher";

    private static (ServiceProvider Provider, CapturingLoggerProvider Logs) Build(Action<PeftOptions> configure, LogLevel minimum = LogLevel.Debug)
    {
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(minimum));
        services.AddOneLoRA(configure);
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        return (provider, logs);
    }

    private static string[] Messages(CapturingLoggerProvider logs, LogLevel level) =>
        logs.Entries.Where(e => e.Category == Category && e.Level == level).Select(e => e.Message).ToArray();

    [Fact]
    public void Runtime_attach_logs_the_layers_the_method_the_counts_and_each_unmatched_pattern()
    {
        var (provider, logs) = Build(o => { o.Method = "1lora"; o.Targets = "hidden;head;q_proj"; o.Exclude = "nothere"; o.TrainBiases = true; });
        using var _ = provider;
        using var net = new PlainNet(1);
        var attachment = provider.GetRequiredService<IPeftAttacher>().AttachRuntime(net);

        Assert.Equal(["body.hidden", "head"], attachment.Layers.Select(l => l.Path).Order(StringComparer.Ordinal));
        var info = Messages(logs, LogLevel.Information);
        Assert.Equal(2, info.Length);
        Assert.StartsWith("OneLoRA adapted 2 layers of PlainNet: ", info[0]);
        Assert.Contains("body.hidden", info[0]);
        Assert.Contains("head", info[0]);
        // PEFT's print_trainable_parameters line: b of 8 + 3, plus the adapted layers' biases 8 + 3.
        long total = net.parameters().Sum(p => p.numel());
        Assert.Equal(attachment.Report().ToString(), info[1]);
        Assert.StartsWith($"OneLoRA: trainable params: 22 || all params: {total:N0} || trainable%: ", info[1]);

        var debug = Messages(logs, LogLevel.Debug);
        Assert.Contains("body.hidden: onelora adapter on Linear(8 -> 8), 8 trainable parameters", debug);
        Assert.Contains("head: onelora adapter on Linear(8 -> 3), 3 trainable parameters", debug);
        Assert.Contains("body.hidden.bias: 8 parameters trained in full", debug);
        Assert.Contains("head.bias: 3 parameters trained in full", debug);

        var warnings = Messages(logs, LogLevel.Warning);
        Assert.Equal(2, warnings.Length);
        Assert.StartsWith("Target pattern 'q_proj' matched no Linear layer of PlainNet. Linear layers: ", warnings[0]);
        Assert.Contains("body.proj", warnings[0]);
        Assert.Equal("Exclude pattern 'nothere' matched no targeted layer of PlainNet", warnings[1]);
        Assert.All(logs.Entries.Where(e => e.Level == LogLevel.Warning), e => Assert.True(e.Event.Id is 5 or 6));
    }

    [Fact]
    public void Per_layer_lines_stay_out_of_information_level_logs()
    {
        var (provider, logs) = Build(o => o.Targets = "Linear", LogLevel.Information);
        using var _ = provider;
        using var net = new PlainNet(2);
        provider.GetRequiredService<IPeftAttacher>().AttachRuntime(net);
        Assert.Equal(2, Messages(logs, LogLevel.Information).Length);
        Assert.Empty(Messages(logs, LogLevel.Debug));
        Assert.Empty(Messages(logs, LogLevel.Warning));
    }

    [Fact]
    public void A_generated_style_attach_delegate_is_run_with_the_configured_method_and_logged()
    {
        var (provider, logs) = Build(o => { o.Method = "ilora"; o.Rank = 2; });
        using var _ = provider;
        using var net = new PlainNet(3);
        IPeftMethod? given = null;
        // Stands in for the generated model.AttachAdapters(m): attaches to the model it is given.
        var attachment = provider.GetRequiredService<IPeftAttacher>().Attach(net, m => { given = m; PeftModel.Attach(net, m, "input"); });

        Assert.Equal(2, Assert.IsType<OneLoRAMethod>(given).Options.Rank);
        Assert.Same(Peft.AttachmentFor(net), attachment);
        Assert.Equal("OneLoRA adapted 1 layers of PlainNet: input", Messages(logs, LogLevel.Information)[0]);
    }

    [Fact]
    public void An_attach_delegate_that_attaches_nothing_fails()
    {
        var (provider, _) = Build(o => { });
        using var __ = provider;
        using var net = new PlainNet(4);
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IPeftAttacher>().Attach(net, _ => { }));
        Assert.Contains("did not attach adapters to PlainNet", e.Message);
    }

    [Fact]
    public void Runtime_attach_with_no_match_fails_listing_the_linear_layers()
    {
        var (provider, logs) = Build(o => o.Targets = "q_proj");
        using var _ = provider;
        using var net = new PlainNet(5);
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IPeftAttacher>().AttachRuntime(net));
        Assert.Contains("selected no Linear layer", e.Message);
        Assert.Contains("body.hidden", e.Message);
        Assert.Single(Messages(logs, LogLevel.Warning));
    }

    [Fact]
    public void The_attacher_resolves_without_logging_registered()
    {
        var services = new ServiceCollection();
        services.AddOneLoRA(o => o.Targets = "head");
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        using var net = new PlainNet(6);
        Assert.Single(provider.GetRequiredService<IPeftAttacher>().AttachRuntime(net).Layers);
    }

    [Fact]
    public void Configured_runtime_attach_trains_and_merges_to_the_same_output()
    {
        using var file = Containers.Json("""{ "Peft": { "Method": "1lora", "Targets": "Linear", "Exclude": "input" } }""");
        var configuration = new ConfigurationBuilder().AddJsonFile(file.Path).Build();
        using var provider = Containers.Build(configuration.GetSection("Peft"));
        provider.GetRequiredService<IStartupValidator>().Validate();
        using var net = new PlainNet(7);
        var attachment = provider.GetRequiredService<IPeftAttacher>().AttachRuntime(net);
        Assert.Equal(["body.hidden", "body.proj", "head"], attachment.Layers.Select(l => l.Path).Order(StringComparer.Ordinal));

        // A target 1LoRA can reach: the same net with row-constant shifts Δ·1ᵀ in the two body layers (their inputs
        // are Linear outputs, whose token sums are not zero; the head's input is a LayerNorm output, which sums to zero).
        using var teacher = new PlainNet(7);
        using (no_grad())
        {
            ((TorchSharp.Modules.Linear)teacher.body[0]).weight.add_(0.2 * randn(8, 1, generator: g));
            ((TorchSharp.Modules.Linear)teacher.body[2]).weight.add_(0.2 * randn(8, 1, generator: g));
        }
        using var x = randn(64, 6, generator: g).add_(0.5);
        using var target = teacher.call(x).detach();
        using var optimizer = optim.AdamW(net.TrainableParameters(), lr: 0.05);
        var losses = new List<float>();
        for (int step = 0; step < 30; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(net.call(x), target);
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        Assert.True(losses[^1] < 0.25f * losses[0], $"loss {losses[0]} -> {losses[^1]}");

        using var unmerged = net.call(x);
        attachment.Merge();
        using var merged = net.call(x);
        Assert.True(merged.allclose(unmerged, rtol: 1e-5, atol: 1e-5), $"max |diff| = {(merged - unmerged).abs().max().item<float>()}");
    }
}
