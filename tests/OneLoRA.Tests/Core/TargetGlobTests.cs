using OneLoRA.Targeting;
using Xunit;

namespace OneLoRA.Tests.Core;

public sealed class TargetGlobTests
{
    [Theory]
    [InlineData("*", "fc1", true)]
    [InlineData("*", "", true)]
    [InlineData("fc?", "fc1", true)]
    [InlineData("fc?", "fc12", false)]
    [InlineData("*proj", "out_proj", true)]
    [InlineData("*proj", "projection", false)]
    [InlineData("q*v", "qkv", true)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("a*b*c", "aXbYbZ", false)]
    [InlineData("Fc1", "fc1", false)]             // case-sensitive
    [InlineData("", "fc1", false)]
    public void Glob_matches_whole_names(string pattern, string text, bool expected) =>
        Assert.Equal(expected, TargetGlob.IsMatch(pattern, text));

    [Fact]
    public void Lists_are_semicolon_separated_and_trimmed() =>
        Assert.Equal(["q", "k*", "v"], TargetGlob.Split(" q ; k* ;; v ;"));

    [Theory]
    [InlineData("*Linear", "", "fc1", "Linear", true)]     // matches the type name
    [InlineData("fc*", "", "fc1", "Linear", true)]
    [InlineData("fc*", "fc2", "fc2", "Linear", false)]     // excluded
    [InlineData("*", "head", "head", "Linear", false)]
    [InlineData("attn*", "", "fc1", "Linear", false)]
    public void Selection_needs_a_target_match_and_no_exclude_match(string targets, string exclude, string name, string type, bool expected) =>
        Assert.Equal(expected, TargetGlob.Selects(targets, exclude, name, type));
}
