using System;

namespace OneLoRA.Training.Cli;

/// <summary>An option value that cannot be used; the message names the option (exit code <see cref="ExitCodes.InvalidOption"/>).</summary>
public sealed class OptionException(string message) : Exception(message);
