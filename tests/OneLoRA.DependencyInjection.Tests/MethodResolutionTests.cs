using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using OneLoRA.Methods.OneLoRA;
using Xunit;

namespace OneLoRA.DependencyInjection.Tests;

public sealed class MethodResolutionTests
{
    /// <summary>The built-in names and aliases the project documents (docs/di.md), canonical name first.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> BuiltIns = new Dictionary<string, string[]>
    {
        ["OneLoRA"] = ["1lora", "onelora", "1-lora", "ilora"],
        ["LoRA"] = ["lora"],
        ["DoRA"] = ["dora"],
        ["VeRA"] = ["vera"],
        ["MoRA"] = ["mora"],
        ["MoRA1"] = ["mora1", "mora-1", "mora_1"],
        ["MoRA6"] = ["mora6", "mora-6", "mora_6"],
        ["BitFit"] = ["bitfit"],
        ["DiffFit"] = ["difffit"],
        ["Full"] = ["full", "all", "fullfinetune"],
    };

    [Theory]
    [InlineData("OneLoRA")]
    [InlineData("onelora")]
    [InlineData("ONELORA")]
    [InlineData("1lora")]
    [InlineData("1LoRA")]
    [InlineData("1-lora")]
    [InlineData("ilora")]
    public void OneLoRA_names_and_aliases_select_OneLoRA_with_the_bound_options(string name)
    {
        using var provider = Containers.Build(Containers.Section(("Method", name), ("Rank", "4"), ("TrainBiases", "true")));
        var factory = provider.GetRequiredService<IPeftMethodFactory>();

        var method = Assert.IsType<OneLoRAMethod>(factory.Create());
        Assert.Equal("OneLoRA", method.Name);
        Assert.Equal(4, method.Options.Rank);
        Assert.True(method.Options.TrainBiases);
        Assert.True(factory.TryResolve(name, out var canonical));
        Assert.Equal("OneLoRA", canonical);
    }

    [Fact]
    public void Every_registered_built_in_has_all_its_documented_aliases_and_creates_itself_with_the_configured_options()
    {
        using var provider = Containers.Build(Containers.Section(("Method", "OneLoRA"), ("Rank", "3"), ("TrainNorms", "true")));
        var factory = provider.GetRequiredService<IPeftMethodFactory>();
        var present = BuiltIns.Keys.Where(name => PeftMethods.Names.Contains(name, StringComparer.OrdinalIgnoreCase)).ToList();
        Assert.Contains("OneLoRA", present);

        foreach (var canonical in present)
        {
            foreach (var alias in BuiltIns[canonical].Prepend(canonical))
            {
                Assert.True(factory.TryResolve(alias, out var resolved), $"'{alias}' is not registered although {canonical} is.");
                Assert.Equal(canonical, resolved);
                var method = factory.Create(alias);
                // A method's Name recreates it; MoRA names itself by its type (MoRA1/MoRA6, the paper's labels).
                Assert.Equal(canonical == "MoRA" ? "MoRA1" : canonical, method.Name);
                Assert.Equal(method.Name, factory.Create(method.Name).Name);
                if (method is PeftMethodBase configured)
                {
                    Assert.Equal(3, configured.Options.Rank);
                    Assert.True(configured.Options.TrainNorms, $"{alias}: TrainNorms not passed through");
                }
            }
        }
        // MoRA's aliases choose its type (checked once MoRA is registered).
        if (present.Contains("MoRA"))
        {
            Assert.Equal(1, Assert.IsAssignableFrom<PeftMethodBase>(factory.Create("mora1")).Options.MoRAType);
            Assert.Equal(6, Assert.IsAssignableFrom<PeftMethodBase>(factory.Create("mora6")).Options.MoRAType);
        }
    }

    [Fact]
    public void Create_by_name_keeps_the_configured_options_but_not_the_configured_method()
    {
        using var provider = Containers.Build(Containers.Section(("Method", "OneLoRA"), ("RandomCompression", "true"), ("CompressionSeed", "11")));
        var factory = provider.GetRequiredService<IPeftMethodFactory>();
        var method = Assert.IsType<OneLoRAMethod>(factory.Create("1lora"));
        Assert.True(method.Options.RandomCompression);
        Assert.Equal(11, method.Options.CompressionSeed);
        Assert.Equal("OneLoRA", factory.Options.Method);
    }

    [Fact]
    public void Create_by_unknown_name_lists_the_valid_names()
    {
        using var provider = Containers.Build(Containers.Section(("Method", "OneLoRA")));
        var e = Assert.Throws<ArgumentException>(() => provider.GetRequiredService<IPeftMethodFactory>().Create("LoRAX"));
        Assert.Contains("'LoRAX'", e.Message);
        Assert.Contains("OneLoRA", e.Message);
        Assert.Contains("1lora", e.Message);
    }

    [Fact]
    public void Names_include_built_ins_and_this_containers_plugins()
    {
        var name = $"names-{Guid.NewGuid():N}";
        using var provider = Containers.Build(Containers.Section(("Method", "OneLoRA")),
            s => s.AddPeftMethod(name, o => new OneLoRAMethod(o), "names-alias-" + name));
        var factory = provider.GetRequiredService<IPeftMethodFactory>();
        Assert.Contains("OneLoRA", factory.Names);
        Assert.Contains(name, factory.Names);
        Assert.DoesNotContain("names-alias-" + name, factory.Names);
        Assert.Contains("names-alias-" + name, factory.NamesAndAliases);
        Assert.Contains("1lora", factory.NamesAndAliases);
    }
}
