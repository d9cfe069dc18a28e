namespace OneLoRA.Training.Cli;

/// <summary>The exit codes of the training jobs' command lines (documented in docs/main-job.md).</summary>
public static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>
    /// The options were fine but the work failed: data or a file missing or malformed, a checkpoint or adapter that
    /// does not fit, a training whose loss stopped being finite.
    /// </summary>
    public const int Failure = 1;

    /// <summary>
    /// The command line cannot be used: an unknown option or command, a value that does not parse or is out of range,
    /// an output or cache location that cannot be written. Nothing has run.
    /// </summary>
    public const int InvalidOption = 2;

    /// <summary>Ended by Ctrl-C (SIGINT): 128 + 2, as shells report it.</summary>
    public const int Interrupted = 130;
}
