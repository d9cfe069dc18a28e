using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;

namespace OneLoRA;

/// <summary>
/// Name → method registry used by generated <c>AttachAdapters()</c>, the command line and DI. Names are
/// case-insensitive; built-ins come with aliases. Plugins register their own names.
/// </summary>
public static class PeftMethods
{
    private static readonly ConcurrentDictionary<string, Func<PeftOptions, IPeftMethod>> Factories = new(StringComparer.OrdinalIgnoreCase);
    private static readonly ConcurrentDictionary<string, string> Canonical = new(StringComparer.OrdinalIgnoreCase);

    static PeftMethods()
    {
        Register("OneLoRA", o => new Methods.OneLoRA.OneLoRAMethod(o), "1lora", "onelora", "1-lora", "ilora");
        Register("LoRA", o => new Methods.LoRA.LoRAMethod(o), "lora");
        Register("DoRA", o => new Methods.DoRA.DoRAMethod(o), "dora");
        Register("VeRA", o => new Methods.VeRA.VeRAMethod(o), "vera");
        Register("MoRA", o => new Methods.MoRA.MoRAMethod(o), "mora");
        Register("MoRA1", o => Methods.MoRA.MoRAMethod.OfType(o, 1), "mora1", "mora-1", "mora_1");
        Register("MoRA6", o => Methods.MoRA.MoRAMethod.OfType(o, 6), "mora6", "mora-6", "mora_6");
        Register("BitFit", o => new Methods.BitFit.BitFitMethod(o), "bitfit");
        Register("DiffFit", o => new Methods.DiffFit.DiffFitMethod(o), "difffit");
        Register("Full", o => new Methods.Full.FullMethod(o), "full", "all", "fullfinetune", "full-finetune");
        Register("None", o => new Methods.None.NoneMethod(o), "none");
    }

    /// <summary>Registers (or replaces) a method under a name and optional aliases.</summary>
    public static void Register(string name, Func<PeftOptions, IPeftMethod> factory, params string[] aliases)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        foreach (var key in aliases.Prepend(name))
        {
            Factories[key] = factory;
            Canonical[key] = name;
        }
    }

    /// <summary>Canonical names of every registered method.</summary>
    public static IReadOnlyList<string> Names => Canonical.Values.Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Every accepted name and alias.</summary>
    public static IReadOnlyList<string> NamesAndAliases => Canonical.Keys.Order(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>True when <paramref name="name"/> is a registered name or alias; gives its canonical name.</summary>
    public static bool TryResolve(string name, out string canonical)
    {
        if (Canonical.TryGetValue(name, out var c)) { canonical = c; return true; }
        canonical = "";
        return false;
    }

    /// <summary>Creates the method named by <see cref="PeftOptions.Method"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid names.</exception>
    public static IPeftMethod Create(PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Factories.TryGetValue(options.Method ?? "", out var factory))
            throw new ArgumentException(
                $"Unknown PEFT method '{options.Method}'. Valid names: {string.Join(", ", NamesAndAliases)}.", nameof(options));
        return factory(options.Clone());
    }

    /// <summary>Creates a method by name with default options.</summary>
    public static IPeftMethod Create(string name) => Create(new PeftOptions { Method = name });
}
