using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using OneLoRA.Serialization;

namespace OneLoRA.Training.Cli;

/// <summary>
/// Runs a job's command line with the jobs' error conventions: a command line that does not parse is one line per
/// error on stderr and exit code <see cref="ExitCodes.InvalidOption"/> (not the help text); an <see cref="OptionException"/>
/// is the same; a user-facing failure (see <see cref="Guard"/>) is one line and <see cref="ExitCodes.Failure"/>. No stack traces.
/// </summary>
public static class CommandLineRunner
{
    /// <summary>Parses <paramref name="args"/> against <paramref name="root"/> and invokes it, or reports the parse errors.</summary>
    /// <param name="root">The job's root command (its actions should run through <see cref="Guard"/>).</param>
    /// <param name="args">The arguments.</param>
    /// <param name="configuration">Output and error writers; null for the console.</param>
    public static int Invoke(RootCommand root, string[] args, InvocationConfiguration? configuration = null)
    {
        var result = root.Parse(args);
        var error = configuration?.Error ?? Console.Error;
        if (result.Errors.Count > 0)
        {
            foreach (var message in result.Errors.Select(e => e.Message).Distinct()) error.WriteLine($"error: {message}");
            error.WriteLine($"See --help for the options.");
            return ExitCodes.InvalidOption;
        }
        return configuration is null ? result.Invoke() : result.Invoke(configuration);
    }

    /// <summary>
    /// Runs a command's action: an <see cref="OptionException"/> becomes one line and <see cref="ExitCodes.InvalidOption"/>;
    /// an I/O or data error, an invalid operation (which includes <see cref="NonFiniteLossException"/>), a failed load of
    /// weights or adapters (<see cref="StateLoadException"/>, <see cref="SafetensorsFormatException"/>), a TorchSharp
    /// runtime that does not load (<see cref="TorchSharpLoadException"/>), or any exception <paramref name="isUserError"/>
    /// accepts, becomes one line and <see cref="ExitCodes.Failure"/>. Anything else is a bug and propagates.
    /// </summary>
    public static int Guard(Func<int> action, TextWriter? error = null, Func<Exception, bool>? isUserError = null)
    {
        error ??= Console.Error;
        try
        {
            return action();
        }
        catch (OptionException e)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidOption;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException
                                      or StateLoadException or SafetensorsFormatException or TorchSharpLoadException
                                      || isUserError?.Invoke(e) == true)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
