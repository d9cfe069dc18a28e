using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OneLoRA.Methods.OneLoRA;
using OneLoRA.Samples.PluginMethod;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.DependencyInjection.Tests;

/// <summary>A service a plugin method asks the container for.</summary>
public sealed class PluginDependency
{
    public int Created;
}

/// <summary>A test double plugin that needs a service besides the options (created with ActivatorUtilities).</summary>
public sealed class NeedsServicesMethod(PeftOptions options, PluginDependency dependency) : PeftMethodBase(options)
{
    public PluginDependency Dependency { get; } = Counted(dependency);

    public override string Name => "NeedsServices";

    public override string PeftType => "NEEDS_SERVICES";

    protected override IReadOnlyList<LinearAdapter> CreateMethodAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new OneLoRAAdapter(l.Layer)).ToList();

    private static PluginDependency Counted(PluginDependency d)
    {
        System.Threading.Interlocked.Increment(ref d.Created);
        return d;
    }
}

/// <summary>A test double plugin built without options (parameterless constructor).</summary>
public sealed class NoOptionsMethod : IPeftMethod
{
    public string Name => "NoOptions";
    public string PeftType => "NO_OPTIONS";
    public IReadOnlyDictionary<string, object?> ConfigEntries => new Dictionary<string, object?>();
    public IReadOnlyList<LinearAdapter> CreateAdapters(IReadOnlyList<TargetLayer> layers) =>
        layers.Select(l => (LinearAdapter)new OneLoRAAdapter(l.Layer)).ToList();
    public IEnumerable<(string Name, Parameter Parameter)> ExtraTrainableParameters(nn.Module root, IReadOnlyList<TargetLayer> layers) => [];
}

public sealed class PluginTests
{
    private static string Unique(string stem) => $"{stem}-{Guid.NewGuid():N}";

    [Fact]
    public void A_plugin_type_is_selectable_by_configuration_by_name_and_by_alias_with_the_bound_options()
    {
        string name = Unique("scale"), alias = Unique("scale-alias");
        using var provider = Containers.Build(
            Containers.Section(("Method", name.ToUpperInvariant()), ("TrainBiases", "true"), ("Rank", "2")),
            s => s.AddPeftMethod<OutputScaleMethod>(name, alias));
        provider.GetRequiredService<IStartupValidator>().Validate();
        var factory = provider.GetRequiredService<IPeftMethodFactory>();

        var configured = Assert.IsType<OutputScaleMethod>(factory.Create());
        Assert.True(configured.Options.TrainBiases);
        Assert.Equal(2, configured.Options.Rank);
        Assert.IsType<OutputScaleMethod>(factory.Create(alias));
        Assert.True(factory.TryResolve(alias, out var canonical));
        Assert.Equal(name, canonical);
    }

    [Fact]
    public void A_plugin_is_visible_to_the_static_registry_that_generated_code_uses()
    {
        var name = Unique("mytest");
        var services = new ServiceCollection();
        services.AddOneLoRA(o => o.Method = name);
        services.AddPeftMethod<OutputScaleMethod>(name);

        // Before any provider exists: [Peft("name")] → AttachAdapters() → PeftMethods.Create(options).
        var method = Assert.IsType<OutputScaleMethod>(PeftMethods.Create(new PeftOptions { Method = name, TrainNorms = true }));
        Assert.True(method.Options.TrainNorms);
        Assert.True(PeftMethods.TryResolve(name.ToUpperInvariant(), out var canonical));
        Assert.Equal(name, canonical);
        Assert.Contains(name, PeftMethods.Names);
        Assert.True(new PeftOptionsValidator().Validate(null, new PeftOptions { Method = name }).Succeeded);
    }

    [Fact]
    public void A_plugin_needing_services_is_created_with_them_and_reaches_the_static_registry_once_the_provider_starts()
    {
        var name = Unique("needs");
        var dependency = new PluginDependency();
        var services = new ServiceCollection();
        services.AddSingleton(dependency);
        services.AddOneLoRA(Containers.Section(("Method", name), ("Rank", "3")));
        services.AddPeftMethod<NeedsServicesMethod>(name);

        // Known by name at once (so validation accepts it), but it cannot be built without the container.
        Assert.True(PeftMethods.TryResolve(name, out _));
        var early = Assert.Throws<InvalidOperationException>(() => PeftMethods.Create(new PeftOptions { Method = name }));
        Assert.Contains($"PEFT method '{name}' needs services from the dependency-injection container", early.Message);

        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var viaFactory = Assert.IsType<NeedsServicesMethod>(provider.GetRequiredService<IPeftMethodFactory>().Create());
        Assert.Same(dependency, viaFactory.Dependency);
        Assert.Equal(3, viaFactory.Options.Rank);

        var viaRegistry = Assert.IsType<NeedsServicesMethod>(PeftMethods.Create(new PeftOptions { Method = name, Rank = 5 }));
        Assert.Same(dependency, viaRegistry.Dependency);
        Assert.Equal(5, viaRegistry.Options.Rank);
        Assert.Equal(2, dependency.Created);
    }

    [Fact]
    public void Factory_delegates_register_plugins_with_and_without_services()
    {
        string plain = Unique("plain"), withServices = Unique("with-services");
        var dependency = new PluginDependency();
        using var provider = Containers.Build(Containers.Section(("Method", plain), ("Rank", "4")), s =>
        {
            s.AddSingleton(dependency);
            s.AddPeftMethod(plain, o => new OneLoRAMethod(o));
            s.AddPeftMethod(withServices, (sp, o) => new NeedsServicesMethod(o, sp.GetRequiredService<PluginDependency>()));
        });
        provider.GetRequiredService<IStartupValidator>().Validate();
        var factory = provider.GetRequiredService<IPeftMethodFactory>();
        Assert.Equal(4, Assert.IsType<OneLoRAMethod>(factory.Create()).Options.Rank);
        Assert.Same(dependency, Assert.IsType<NeedsServicesMethod>(factory.Create(withServices)).Dependency);
        Assert.IsType<OneLoRAMethod>(PeftMethods.Create(new PeftOptions { Method = plain }));
    }

    [Fact]
    public void A_parameterless_plugin_works_without_options()
    {
        var name = Unique("no-options");
        using var provider = Containers.Build(Containers.Section(("Method", name)), s => s.AddPeftMethod<NoOptionsMethod>(name));
        Assert.IsType<NoOptionsMethod>(provider.GetRequiredService<IPeftMethodFactory>().Create());
        Assert.IsType<NoOptionsMethod>(PeftMethods.Create(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void A_blank_plugin_name_or_alias_is_rejected(string blank)
    {
        var services = new ServiceCollection();
        Assert.Throws<ArgumentException>(() => services.AddPeftMethod<OutputScaleMethod>(blank));
        var e = Assert.Throws<ArgumentException>(() => services.AddPeftMethod<OutputScaleMethod>(Unique("ok"), blank));
        Assert.Contains("blank alias", e.Message);
        Assert.Empty(services);
    }

    [Fact]
    public void A_factory_returning_null_fails_naming_the_method()
    {
        var name = Unique("null");
        using var provider = Containers.Build(Containers.Section(("Method", name)), s => s.AddPeftMethod(name, _ => null!));
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IPeftMethodFactory>().Create());
        Assert.Contains($"'{name}' returned null", e.Message);
    }
}
