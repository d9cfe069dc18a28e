using System;
using System.IO;

namespace OneLoRA.Training.Cli;

/// <summary>Where a job caches what it derives once (pretrained checkpoints, extracted models), and what chose that folder.</summary>
public static class CacheLocation
{
    /// <summary>Environment variable naming the cache folder.</summary>
    public const string Variable = "ONELORA_CACHE";

    /// <summary>
    /// <paramref name="given"/> (the job's <c>--cache</c>), else <c>$ONELORA_CACHE</c>, else <c>$XDG_CACHE_HOME/onelora</c>,
    /// else <c>~/.cache/onelora</c>; with what chose it, for errors (<c>--cache</c>, <c>ONELORA_CACHE</c>, …).
    /// </summary>
    public static (string Directory, string Origin) Resolve(string? given, string option = "--cache")
    {
        if (!string.IsNullOrWhiteSpace(given)) return (given, option);
        var env = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(env)) return (env, Variable);
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg)) return (Path.Combine(xdg, "onelora"), "XDG_CACHE_HOME (cache folder)");
        return (Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "onelora"), "the default cache folder");
    }
}
