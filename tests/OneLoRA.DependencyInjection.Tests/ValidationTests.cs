using System;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace OneLoRA.DependencyInjection.Tests;

public sealed class ValidationTests
{
    [Theory]
    [InlineData("Rank", "0", "PeftOptions.Rank must be an integer ≥ 1; got 0.")]
    [InlineData("Rank", "-3", "PeftOptions.Rank must be an integer ≥ 1; got -3.")]
    [InlineData("Alpha", "-1", "PeftOptions.Alpha must be a finite number ≥ 0 (0 means alpha = rank); got -1.")]
    [InlineData("Alpha", "Infinity", "PeftOptions.Alpha must be a finite number ≥ 0 (0 means alpha = rank); got Infinity.")]
    [InlineData("Dropout", "1", "PeftOptions.Dropout must be in [0, 1); got 1.")]
    [InlineData("Dropout", "-0.1", "PeftOptions.Dropout must be in [0, 1); got -0.1.")]
    [InlineData("MoRAType", "3", "PeftOptions.MoRAType must be 1 (sharing) or 6 (RoPE); got 3.")]
    [InlineData("MoRARankRule", "5", "PeftOptions.MoRARankRule must be one of Paper, MoRA, Floor; got 5.")]
    [InlineData("VeRADInitial", "NaN", "PeftOptions.VeRADInitial must be a finite number; got NaN.")]
    [InlineData("Targets", " ; ", "PeftOptions.Targets must hold at least one glob (';'-separated, e.g. '*' or 'fc*;proj'); got an empty list.")]
    public void A_bad_value_fails_at_startup_naming_the_option_and_its_range(string key, string value, string expected)
    {
        using var provider = Containers.Build(Containers.Section(("Method", "OneLoRA"), (key, value)));
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Equal(expected, Assert.Single(e.Failures));
        Assert.Equal(typeof(PeftOptions), e.OptionsType);
    }

    [Fact]
    public void The_first_resolve_fails_too_when_startup_validation_is_not_run()
    {
        using var provider = Containers.Build(Containers.Section(("Rank", "0")));
        var factory = provider.GetRequiredService<IPeftMethodFactory>();
        var e = Assert.Throws<OptionsValidationException>(() => factory.Create());
        Assert.Contains("PeftOptions.Rank must be an integer ≥ 1; got 0.", e.Failures);
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PeftOptions>>().Value);
    }

    [Fact]
    public void An_unknown_method_lists_the_valid_names_with_their_aliases_and_the_plugins()
    {
        var plugin = $"valid-{Guid.NewGuid():N}";
        using var provider = Containers.Build(Containers.Section(("Method", "LoRAX")),
            s => s.AddPeftMethod(plugin, o => new Methods.OneLoRA.OneLoRAMethod(o)));
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        var message = Assert.Single(e.Failures);
        Assert.StartsWith("PeftOptions.Method 'LoRAX' is not a registered PEFT method. Valid names (case-insensitive): ", message);
        Assert.Contains("OneLoRA (aliases: 1-lora, 1lora, ilora)", message);
        Assert.Contains(plugin, message);
    }

    [Fact]
    public void An_empty_method_fails()
    {
        using var provider = Containers.Build(Containers.Section(("Method", "")));
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.StartsWith("PeftOptions.Method is empty; expected a registered PEFT method.", Assert.Single(e.Failures));
    }

    [Fact]
    public void Every_failure_is_reported_at_once()
    {
        using var provider = Containers.Build(Containers.Section(("Method", "nope"), ("Rank", "0"), ("Dropout", "2"), ("MoRAType", "2")));
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Equal(4, e.Failures.Count());
        Assert.Contains(e.Failures, f => f.StartsWith("PeftOptions.Method 'nope'", StringComparison.Ordinal));
        Assert.Contains("PeftOptions.Rank must be an integer ≥ 1; got 0.", e.Failures);
        Assert.Contains("PeftOptions.Dropout must be in [0, 1); got 2.", e.Failures);
        Assert.Contains("PeftOptions.MoRAType must be 1 (sharing) or 6 (RoPE); got 2.", e.Failures);
    }

    [Theory]
    [InlineData("Rank", "1")]
    [InlineData("Alpha", "0")]
    [InlineData("Dropout", "0.999")]
    [InlineData("MoRAType", "6")]
    [InlineData("VeRADInitial", "-2.5")]
    [InlineData("Targets", "fc1")]
    public void Boundary_values_are_accepted(string key, string value)
    {
        using var provider = Containers.Build(Containers.Section(("Method", "1lora"), (key, value)));
        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.NotNull(provider.GetRequiredService<IPeftMethodFactory>().Create());
    }

    [Fact]
    public void The_validator_works_without_a_container()
    {
        var validator = new PeftOptionsValidator();
        Assert.True(validator.Validate(null, new PeftOptions { Method = "ilora" }).Succeeded);
        var result = validator.Validate(null, new PeftOptions { Method = "ilora", Rank = 0 });
        Assert.True(result.Failed);
        Assert.Equal(["PeftOptions.Rank must be an integer ≥ 1; got 0."], result.Failures);
    }
}
