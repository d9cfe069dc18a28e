using System;
using System.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OneLoRA.Methods.OneLoRA;
using Xunit;
using static TorchSharp.torch;

using OneLoRA.Tests;

namespace OneLoRA.DependencyInjection.Tests;

public sealed class OptionsBindingTests
{
    private const string EveryKey = """
        {
          "Logging": { "LogLevel": { "Default": "Warning" } },
          "Peft": {
            "Method": "1lora",
            "Targets": "fc*;proj",
            "Exclude": "head",
            "Rank": 8,
            "Alpha": 16.5,
            "Dropout": 0.25,
            "UseRsLoRA": true,
            "TrainNorms": true,
            "TrainBiases": true,
            "TrainScale": true,
            "RandomCompression": true,
            "CompressionSeed": 42,
            "MoRAType": 6,
            "MoRARankRule": "MoRA",
            "ProjectionPrngKey": 7,
            "VeRADInitial": 0.5
          }
        }
        """;

    [Fact]
    public void A_json_file_binds_every_option()
    {
        using var file = Containers.Json(EveryKey);
        var configuration = new ConfigurationBuilder().AddJsonFile(file.Path, optional: false).Build();
        using var provider = Containers.Build(configuration.GetSection("Peft"));
        provider.GetRequiredService<IStartupValidator>().Validate();

        var o = provider.GetRequiredService<IOptions<PeftOptions>>().Value;
        Assert.Equal(("1lora", "fc*;proj", "head"), (o.Method, o.Targets, o.Exclude));
        Assert.Equal((8, 16.5, 0.25), (o.Rank, o.Alpha, o.Dropout));
        Assert.True(o.UseRsLoRA && o.TrainNorms && o.TrainBiases && o.TrainScale && o.RandomCompression);
        Assert.Equal((42L, 6, MoRARankRule.MoRA, 7L, 0.5), (o.CompressionSeed, o.MoRAType, o.MoRARankRule, o.ProjectionPrngKey, o.VeRADInitial));
        Assert.Equal(16.5 / Math.Sqrt(8), LowRankMethod.Scaling(o), 12);

        // The configured method is created with exactly these options.
        var method = Assert.IsType<OneLoRAMethod>(provider.GetRequiredService<IPeftMethodFactory>().Create());
        Assert.Equal((8, 42L, 6), (method.Options.Rank, method.Options.CompressionSeed, method.Options.MoRAType));
        using var layer = nn.Linear(5, 3).Init(1);
        // TrainScale is bound on: the method's adapter comes wrapped, by the class as through IPeftMethod.
        var scaled = Assert.IsType<ScaledAdapter>(Assert.Single(method.CreateAdapters([new TargetLayer("fc", layer)])));
        var adapter = Assert.IsType<OneLoRAAdapter>(scaled.Inner);
        Assert.NotNull(adapter.CompressionVector);
    }

    [Fact]
    public void Defaults_apply_when_the_section_is_empty()
    {
        using var provider = Containers.Build(Containers.Section());
        provider.GetRequiredService<IStartupValidator>().Validate();
        var o = provider.GetRequiredService<IOptions<PeftOptions>>().Value;
        Assert.Equal(("OneLoRA", "*", "", 1, 1, MoRARankRule.Paper), (o.Method, o.Targets, o.Exclude, o.Rank, o.MoRAType, o.MoRARankRule));
        Assert.IsType<OneLoRAMethod>(provider.GetRequiredService<IPeftMethodFactory>().Create());
    }

    [Fact]
    public void Later_sources_override_earlier_ones_including_environment_variables()
    {
        // A unique prefix keeps this process-wide variable away from other tests.
        var prefix = $"OLORA_{Guid.NewGuid():N}_";
        Environment.SetEnvironmentVariable(prefix + "Peft__Rank", "5");
        Environment.SetEnvironmentVariable(prefix + "Peft__Method", "ONELORA");
        try
        {
            using var file = Containers.Json("""{ "Peft": { "Method": "OneLoRA", "Rank": 2, "Targets": "fc*" } }""");
            var configuration = new ConfigurationBuilder()
                .AddJsonFile(file.Path)
                .AddEnvironmentVariables(prefix)
                .Build();
            using var provider = Containers.Build(configuration.GetSection("Peft"));
            var o = provider.GetRequiredService<IOptions<PeftOptions>>().Value;
            Assert.Equal(("ONELORA", 5, "fc*"), (o.Method, o.Rank, o.Targets));
        }
        finally
        {
            Environment.SetEnvironmentVariable(prefix + "Peft__Rank", null);
            Environment.SetEnvironmentVariable(prefix + "Peft__Method", null);
        }
    }

    [Fact]
    public void Code_configuration_binds_and_can_follow_a_section()
    {
        var services = new ServiceCollection();
        services.AddOneLoRA(Containers.Section(("Rank", "2"), ("Dropout", "0.1")));
        services.AddOneLoRA(o => { o.Rank = 9; o.TrainScale = true; });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var o = provider.GetRequiredService<IOptions<PeftOptions>>().Value;
        Assert.Equal((9, 0.1, true), (o.Rank, o.Dropout, o.TrainScale));
        // Registering twice adds the services once.
        Assert.Single(services, d => d.ServiceType == typeof(IPeftMethodFactory));
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<PeftOptions>));
    }

    [Fact]
    public void An_unknown_key_fails_naming_the_key()
    {
        using var provider = Containers.Build(Containers.Section(("Method", "OneLoRA"), ("Rnak", "4")));
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("'Rnak'", e.Message);
    }

    [Fact]
    public void A_value_of_the_wrong_type_fails_naming_the_key()
    {
        using var provider = Containers.Build(Containers.Section(("Rank", "two")));
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Peft:Rank", e.Message);
    }

    [Fact]
    public void The_factory_sees_configuration_reloads()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Peft:Rank", "2")]).Build();
        using var provider = Containers.Build(configuration.GetSection("Peft"));
        var factory = provider.GetRequiredService<IPeftMethodFactory>();
        Assert.Equal(2, factory.Options.Rank);
        configuration["Peft:Rank"] = "6";
        configuration.Reload();
        Assert.Equal(6, factory.Options.Rank);
        Assert.Equal(6, Assert.IsType<OneLoRAMethod>(factory.Create()).Options.Rank);
        // Options handed out are copies: changing one does not change the configuration.
        factory.Options.Rank = 99;
        Assert.Equal(6, factory.Options.Rank);
    }
}
