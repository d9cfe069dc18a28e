using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using OneLoRA.Samples.MethodSwitch;
using Xunit;

namespace OneLoRA.DependencyInjection.Tests;

/// <summary>samples/MethodSwitch's logic: every method by configuration, and one-line errors with documented exit codes.</summary>
public sealed class MethodSwitchTests
{
    public static IEnumerable<object[]> Methods() => PeftMethods.Names.Append("OutputScale").Select(n => new object[] { n });

    private static (MethodSwitchResult Result, string Error) Run(params (string Key, string Value)[] entries)
    {
        var values = new Dictionary<string, string?>
        {
            ["Training:PretrainSteps"] = "3",
            ["Training:FineTuneSteps"] = "3",
        };
        foreach (var (k, v) in entries) values[k] = v;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var error = new StringWriter();
        var result = MethodSwitchApp.Run(configuration, error, logging: b => b.ClearProviders());
        return (result, error.ToString());
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_method_fine_tunes_and_merges_both_models(string method)
    {
        // None adds nothing: it trains only what a combination names (here the biases, "β" alone).
        var (result, error) = method == "None" ? Run(("Peft:Method", method), ("Peft:TrainBiases", "true")) : Run(("Peft:Method", method));
        Assert.True(result.ExitCode == MethodSwitchApp.Success, $"{method}: exit {result.ExitCode}: {error}");
        Assert.Equal("", error);
        Assert.Equal(2, result.MergeDifferences.Count);
        // float32 outputs of magnitude ≤ ~2 through three layers of width ≤ 32: a few hundred ulps (≈ 1e-7 each) at most.
        Assert.All(result.MergeDifferences, d => Assert.True(d <= 1e-4, $"{method}: merged differs from unmerged by {d:E2}"));
    }

    [Fact]
    public void A_method_that_trains_nothing_is_one_line_and_exit_2()
    {
        var (result, error) = Run(("Peft:Method", "None"));
        Assert.Equal(MethodSwitchApp.InvalidConfiguration, result.ExitCode);
        Assert.Contains("trains nothing", error);
        Assert.Contains("Peft:TrainBiases", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("Peft:Colour", "red", "unknown key 'Peft:Colour'")]
    [InlineData("Peft:Rank", "abc", "Peft:Rank")]
    [InlineData("Peft:Rank", "0", "Rank must be an integer ≥ 1")]
    [InlineData("Peft:Method", "Nope", "'Nope' is not a registered PEFT method")]
    [InlineData("Peft:Dropout", "1.5", "Dropout must be in [0, 1)")]
    [InlineData("Training:PretrainSteps", "many", "Training:PretrainSteps")]
    public void Bad_configuration_is_one_line_naming_the_key_with_exit_code_2(string key, string value, string expected)
    {
        var (result, error) = Run((key, value));
        Assert.Equal(MethodSwitchApp.InvalidConfiguration, result.ExitCode);
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Targets_matching_no_layer_of_the_third_party_model_exit_with_code_3()
    {
        var (result, error) = Run(("Peft:Targets", "q_proj"));
        Assert.Equal(MethodSwitchApp.CannotAttach, result.ExitCode);
        Assert.Contains("q_proj", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }
}
