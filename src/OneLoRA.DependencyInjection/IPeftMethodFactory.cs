using System.Collections.Generic;

namespace OneLoRA.DependencyInjection;

/// <summary>
/// Creates PEFT method strategies from the configured <see cref="PeftOptions"/>: the configured method, or
/// any registered method by name with the configured options. Knows the built-ins (through
/// <see cref="PeftMethods"/>) and the plugins added with <c>AddPeftMethod</c>.
/// </summary>
public interface IPeftMethodFactory
{
    /// <summary>A copy of the configured options (current value; reflects configuration reloads).</summary>
    PeftOptions Options { get; }

    /// <summary>Canonical names of every method this factory can create.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>Every accepted name and alias.</summary>
    IReadOnlyList<string> NamesAndAliases { get; }

    /// <summary>True when <paramref name="name"/> is a known method name or alias (case-insensitive); gives its canonical name.</summary>
    bool TryResolve(string name, out string canonical);

    /// <summary>The configured method (<see cref="PeftOptions.Method"/>) with the configured options.</summary>
    IPeftMethod Create();

    /// <summary>The method called <paramref name="name"/> (a name or alias) with the configured options.</summary>
    /// <exception cref="System.ArgumentException">Unknown name; the message lists the valid names.</exception>
    IPeftMethod Create(string name);

    /// <summary>The method named by <paramref name="options"/>, with those options.</summary>
    /// <exception cref="System.ArgumentException">Unknown name; the message lists the valid names.</exception>
    IPeftMethod Create(PeftOptions options);
}
