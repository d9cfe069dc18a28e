using System;
using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.DependencyInjection;

/// <summary>
/// A plugin method added with <c>AddPeftMethod</c>: its names and how to create it with or without the
/// service provider. Also registered in <see cref="PeftMethods"/>, so generated <c>AttachAdapters()</c> and
/// <c>[Peft("name")]</c> find it.
/// </summary>
internal sealed class PeftMethodRegistration
{
    private readonly Func<PeftOptions, IPeftMethod>? standalone;
    private readonly Func<IServiceProvider, PeftOptions, IPeftMethod>? withServices;
    private IServiceProvider? boundServices;

    public PeftMethodRegistration(
        string name,
        IReadOnlyList<string> aliases,
        Func<PeftOptions, IPeftMethod>? standalone,
        Func<IServiceProvider, PeftOptions, IPeftMethod>? withServices)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        foreach (var alias in aliases)
            if (string.IsNullOrWhiteSpace(alias))
                throw new ArgumentException($"PEFT method '{name}' has a blank alias; aliases must be non-empty names.", nameof(aliases));
        if (standalone is null && withServices is null)
            throw new ArgumentException($"PEFT method '{name}' needs a factory.");
        Name = name;
        Aliases = aliases;
        this.standalone = standalone;
        this.withServices = withServices;
    }

    public string Name { get; }

    public IReadOnlyList<string> Aliases { get; }

    public IEnumerable<string> NamesAndAliases => Aliases.Prepend(Name);

    /// <summary>Creates the method with a given provider's services (the factory's path).</summary>
    public IPeftMethod Create(IServiceProvider services, PeftOptions options) =>
        Checked(withServices is not null ? withServices(services, options) : standalone!(options));

    /// <summary>
    /// Creates the method for the static registry: with the services of the last provider that created an
    /// <see cref="IPeftMethodFactory"/>, else without services when the plugin can be built from options alone.
    /// </summary>
    public IPeftMethod Create(PeftOptions options)
    {
        if (boundServices is { } services && withServices is not null) return Checked(withServices(services, options));
        if (standalone is not null) return Checked(standalone(options));
        throw new InvalidOperationException(
            $"PEFT method '{Name}' needs services from the dependency-injection container, which is not built yet. " +
            "Build the ServiceProvider and resolve IPeftMethodFactory (or run startup validation / start the host) before attaching.");
    }

    /// <summary>Lets the static registry create service-needing plugins with <paramref name="services"/>.</summary>
    public void Bind(IServiceProvider services) => boundServices = services;

    private IPeftMethod Checked(IPeftMethod? method) =>
        method ?? throw new InvalidOperationException($"The factory of PEFT method '{Name}' returned null.");
}
