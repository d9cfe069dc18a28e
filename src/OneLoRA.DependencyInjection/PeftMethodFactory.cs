using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OneLoRA.DependencyInjection;

/// <summary>
/// The container's <see cref="IPeftMethodFactory"/>: this provider's plugins first (created with its services),
/// then the static <see cref="PeftMethods"/> registry (built-ins and plugins of other providers).
/// </summary>
internal sealed class PeftMethodFactory : IPeftMethodFactory
{
    private readonly IServiceProvider services;
    private readonly Dictionary<string, PeftMethodRegistration> plugins = new(StringComparer.OrdinalIgnoreCase);

    // Options are resolved on use, not injected: the options validator depends on this factory.
    public PeftMethodFactory(IServiceProvider services, IEnumerable<PeftMethodRegistration> registrations)
    {
        this.services = services;
        foreach (var registration in registrations)
        {
            registration.Bind(services);
            foreach (var key in registration.NamesAndAliases) plugins[key] = registration;
        }
    }

    public PeftOptions Options => services.GetRequiredService<IOptionsMonitor<PeftOptions>>().CurrentValue.Clone();

    public IReadOnlyList<string> Names =>
        PeftMethods.Names.Concat(plugins.Values.Select(p => p.Name)).Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase).ToList();

    public IReadOnlyList<string> NamesAndAliases =>
        PeftMethods.NamesAndAliases.Concat(plugins.Keys).Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase).ToList();

    public bool TryResolve(string name, out string canonical)
    {
        if (plugins.TryGetValue(name ?? "", out var plugin)) { canonical = plugin.Name; return true; }
        return PeftMethods.TryResolve(name ?? "", out canonical);
    }

    public IPeftMethod Create() => Create(Options);

    public IPeftMethod Create(string name)
    {
        var options = Options;
        options.Method = name;
        return Create(options);
    }

    public IPeftMethod Create(PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return plugins.TryGetValue(options.Method ?? "", out var plugin)
            ? plugin.Create(services, options.Clone())
            : PeftMethods.Create(options);
    }
}
