using System;
using System.IO;

namespace OneLoRA.Training.Cli;

/// <summary>Up-front checks of the folders a job writes to, so a bad path fails before any training, naming the option.</summary>
public static class Locations
{
    /// <summary>
    /// Makes sure <paramref name="path"/> can be used as an output directory without creating anything: an existing
    /// directory must accept a file (a probe file is written and deleted); a missing one must lie under an existing,
    /// writable directory, with no file in the way. The job creates it when it writes there.
    /// </summary>
    /// <param name="option">The option that gave the path, e.g. <c>--out</c>, named in the error.</param>
    /// <param name="path">The directory.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="OptionException">The path is a file, lies under a file, or its folder cannot be written.</exception>
    public static string RequireWritableDirectory(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new OptionException($"{option}: the path is empty.");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new OptionException($"{option} {path}: not a valid path ({e.Message}).");
        }
        if (File.Exists(full)) throw new OptionException($"{option} {path}: this is an existing file; expected a directory.");
        var existing = full;
        while (!Directory.Exists(existing))
        {
            var parent = Path.GetDirectoryName(existing);
            if (parent is null) throw new OptionException($"{option} {path}: no existing folder above it.");
            if (File.Exists(parent)) throw new OptionException($"{option} {path}: '{parent}' is a file, so no directory can be created under it.");
            existing = parent;
        }
        try
        {
            var probe = Path.Combine(existing, $".onelora-write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OptionException($"{option} {path}: cannot write in '{existing}' ({e.Message}).");
        }
        return full;
    }
}
