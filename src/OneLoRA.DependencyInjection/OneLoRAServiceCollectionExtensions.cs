using System;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OneLoRA.DependencyInjection;

/// <summary>Registers OneLoRA's method strategies, options and attach logging in a service collection.</summary>
public static class OneLoRAServiceCollectionExtensions
{
    /// <summary>The conventional configuration section name, <c>"Peft"</c>.</summary>
    public const string SectionName = "Peft";

    /// <summary>
    /// Binds <see cref="PeftOptions"/> to <paramref name="section"/> (e.g. <c>configuration.GetSection("Peft")</c>;
    /// unknown keys are errors, so typos cannot pass silently), validates them at startup and registers
    /// <see cref="IPeftMethodFactory"/> and <see cref="IPeftAttacher"/>.
    /// </summary>
    public static IServiceCollection AddOneLoRA(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        services.AddOptions<PeftOptions>().Bind(section, binder => binder.ErrorOnUnknownConfiguration = true);
        return services.AddOneLoRACore();
    }

    /// <summary>Configures <see cref="PeftOptions"/> in code, validates them at startup and registers the OneLoRA services.</summary>
    public static IServiceCollection AddOneLoRA(this IServiceCollection services, Action<PeftOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<PeftOptions>().Configure(configure);
        return services.AddOneLoRACore();
    }

    /// <summary>
    /// Registers a plugin method type under <paramref name="name"/> and <paramref name="aliases"/> (case-insensitive),
    /// selectable by configuration (<c>"Method": "name"</c>), by <see cref="IPeftMethodFactory.Create(string)"/> and by
    /// <c>[Peft("name")]</c>. The container creates it with <c>ActivatorUtilities</c>: its constructor receives the
    /// configured <see cref="PeftOptions"/> and any registered service. A type with a constructor taking only
    /// <see cref="PeftOptions"/> (or none) is usable from <see cref="PeftMethods"/> at once; one needing other
    /// services becomes usable there once the provider has created its <see cref="IPeftMethodFactory"/>
    /// (on startup validation or first resolve).
    /// </summary>
    /// <remarks><see cref="PeftMethods"/> is process-wide: registering a name again, here or there, replaces it.</remarks>
    public static IServiceCollection AddPeftMethod<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TMethod>(
        this IServiceCollection services, string name, params string[] aliases)
        where TMethod : class, IPeftMethod
    {
        ArgumentNullException.ThrowIfNull(services);
        var standalone = StandaloneFactory<TMethod>();
        // ActivatorUtilities rejects arguments no constructor takes: pass the options only to a type that wants them.
        bool takesOptions = typeof(TMethod).GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(PeftOptions)));
        Func<IServiceProvider, PeftOptions, IPeftMethod> withServices = takesOptions
            ? (provider, options) => ActivatorUtilities.CreateInstance<TMethod>(provider, options)
            : (provider, _) => ActivatorUtilities.CreateInstance<TMethod>(provider);
        return services.AddPeftMethod(new PeftMethodRegistration(name, aliases, standalone, withServices));
    }

    /// <summary>Registers a plugin method created from the options alone; usable from <see cref="PeftMethods"/> at once.</summary>
    /// <remarks><see cref="PeftMethods"/> is process-wide: registering a name again, here or there, replaces it.</remarks>
    public static IServiceCollection AddPeftMethod(
        this IServiceCollection services, string name, Func<PeftOptions, IPeftMethod> factory, params string[] aliases)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(factory);
        return services.AddPeftMethod(new PeftMethodRegistration(name, aliases, factory, null));
    }

    /// <summary>
    /// Registers a plugin method created from the container's services and the options; usable from
    /// <see cref="PeftMethods"/> once the provider has created its <see cref="IPeftMethodFactory"/>.
    /// </summary>
    /// <remarks><see cref="PeftMethods"/> is process-wide: registering a name again, here or there, replaces it.</remarks>
    public static IServiceCollection AddPeftMethod(
        this IServiceCollection services, string name, Func<IServiceProvider, PeftOptions, IPeftMethod> factory, params string[] aliases)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(factory);
        return services.AddPeftMethod(new PeftMethodRegistration(name, aliases, null, factory));
    }

    private static IServiceCollection AddPeftMethod(this IServiceCollection services, PeftMethodRegistration registration)
    {
        // Registered now, so generated AttachAdapters() (which uses the static registry) resolves the name too.
        PeftMethods.Register(registration.Name, registration.Create, registration.Aliases.ToArray());
        services.AddSingleton(registration);
        return services;
    }

    private static IServiceCollection AddOneLoRACore(this IServiceCollection services)
    {
        services.AddOptions<PeftOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PeftOptions>, PeftOptionsValidator>(
            provider => new PeftOptionsValidator(provider.GetRequiredService<IPeftMethodFactory>())));
        services.TryAddSingleton<IPeftMethodFactory, PeftMethodFactory>();
        services.TryAddSingleton<IPeftAttacher, PeftAttacher>();
        return services;
    }

    /// <summary>A constructor call needing no services: <c>new T(options)</c> or <c>new T()</c>, else null.</summary>
    private static Func<PeftOptions, IPeftMethod>? StandaloneFactory<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TMethod>()
        where TMethod : class, IPeftMethod
    {
        var constructors = typeof(TMethod).GetConstructors(BindingFlags.Public | BindingFlags.Instance);
        var withOptions = constructors.FirstOrDefault(c => c.GetParameters() is [{ ParameterType: var t }] && t == typeof(PeftOptions));
        if (withOptions is not null) return options => (TMethod)withOptions.Invoke([options]);
        var parameterless = constructors.FirstOrDefault(c => c.GetParameters().Length == 0);
        if (parameterless is not null) return _ => (TMethod)parameterless.Invoke(null);
        return null;
    }
}
