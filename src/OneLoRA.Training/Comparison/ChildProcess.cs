using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using OneLoRA.Training.Reporting;

namespace OneLoRA.Training.Comparison;

/// <summary>Starts a job's own program again, for one run of a comparison, and relays its output.</summary>
public static class ChildProcess
{
    /// <summary>
    /// How to start the program of <paramref name="entry"/> again: the running apphost, else the apphost beside the
    /// assembly (when the comparison runs inside another process, e.g. a test host), else <c>dotnet the.dll</c>.
    /// The child gets <c>CI=true</c> (plain progress lines) and <c>MALLOC_ARENA_MAX=1</c> (one glibc arena, so that
    /// <see cref="HeapMeter"/> sees every thread's tensors).
    /// </summary>
    public static ProcessStartInfo SelfStart(Assembly entry, IEnumerable<string> arguments)
    {
        var apphost = Path.ChangeExtension(entry.Location, OperatingSystem.IsWindows() ? ".exe" : null);
        ProcessStartInfo start;
        if (Assembly.GetEntryAssembly() == entry && Environment.ProcessPath is { } running)
        {
            start = new ProcessStartInfo(running);
            if (Path.GetFileNameWithoutExtension(running).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) start.ArgumentList.Add(entry.Location);
        }
        else if (File.Exists(apphost))
        {
            start = new ProcessStartInfo(apphost);
        }
        else
        {
            start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
            start.ArgumentList.Add(entry.Location);
        }
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["CI"] = "true";   // children print plain progress lines, which the parent relays
        start.Environment["MALLOC_ARENA_MAX"] = "1";
        return start;
    }

    /// <summary>Runs the program of <paramref name="entry"/> with <paramref name="arguments"/>, relaying its lines prefixed with <paramref name="label"/>.</summary>
    /// <exception cref="InvalidOperationException">The process could not start or exited with a non-zero code.</exception>
    public static void Run(Assembly entry, string label, IReadOnlyList<string> arguments, TrainingProgress progress)
    {
        using var process = Process.Start(SelfStart(entry, arguments))
            ?? throw new InvalidOperationException($"Could not start the {label} process.");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) progress.Info($"[{label}] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) progress.Info($"[{label}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"The {label} process failed with exit code {process.ExitCode} (its output is above). Arguments: {string.Join(' ', arguments)}");
    }
}
