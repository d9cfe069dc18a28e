using System.Linq;
using OneLoRA.Analyzers;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>The analyzer's hand-kept list of built-in names must agree with the runtime's registry.</summary>
public sealed class BuiltInMethodsSyncTests
{
    [Fact]
    public void Every_runtime_name_and_alias_is_known_to_the_analyzer_under_the_same_method()
    {
        foreach (var name in PeftMethods.NamesAndAliases)
        {
            Assert.True(PeftMethods.TryResolve(name, out var runtimeCanonical));
            var analyzerCanonical = BuiltInMethods.Resolve(name);
            Assert.True(analyzerCanonical is not null, $"'{name}' is registered at run time but the analyzer would report OLORA008 for it.");
            // The runtime registers MoRA1/MoRA6 as their own names; the analyzer treats them as MoRA with a fixed type.
            Assert.Equal(runtimeCanonical.StartsWith("MoRA") ? "MoRA" : runtimeCanonical, analyzerCanonical);
        }
    }

    [Fact]
    public void Analyzer_knows_no_built_in_name_the_runtime_lacks()
    {
        foreach (var name in new[] { "OneLoRA", "LoRA", "DoRA", "VeRA", "MoRA", "BitFit", "DiffFit", "Full" })
            Assert.True(PeftMethods.TryResolve(name, out _), name);
    }

    [Theory]
    [InlineData("mora1", 1)]
    [InlineData("MoRA-6", 6)]
    [InlineData("mora_6", 6)]
    [InlineData("mora", null)]
    public void Typed_MoRA_names_fix_the_type(string name, int? type) =>
        Assert.Equal(type, BuiltInMethods.FixedMoRAType(name));
}
