using System;

namespace OneLoRA.Training.Cli;

/// <summary>Range checks of option values in the jobs' style: the error names the option and its value, e.g. <c>--batch 0: must be at least 1.</c></summary>
public static class OptionChecks
{
    /// <summary>At least 1.</summary>
    /// <exception cref="OptionException">It is not.</exception>
    public static void Positive(string option, long value)
    {
        if (value < 1) throw new OptionException($"{option} {value}: must be at least 1.");
    }

    /// <summary>At least 0.</summary>
    /// <exception cref="OptionException">It is not.</exception>
    public static void NonNegative(string option, long value)
    {
        if (value < 0) throw new OptionException($"{option} {value}: must be ≥ 0.");
    }

    /// <summary>A finite number above 0 (learning rates).</summary>
    /// <exception cref="OptionException">It is not.</exception>
    public static void PositiveNumber(string option, double value)
    {
        if (!(value > 0 && double.IsFinite(value))) throw new OptionException($"{option} {value}: must be a positive number.");
    }

    /// <summary>A finite number of at least 0 (weight decay).</summary>
    /// <exception cref="OptionException">It is not.</exception>
    public static void NonNegativeNumber(string option, double value)
    {
        if (!(value >= 0 && double.IsFinite(value))) throw new OptionException($"{option} {value}: must be ≥ 0.");
    }

    /// <summary>In [0, 1) (dropout).</summary>
    /// <exception cref="OptionException">It is not.</exception>
    public static void Fraction(string option, double value)
    {
        if (!(value >= 0 && value < 1)) throw new OptionException($"{option} {value}: must be in [0, 1).");
    }

    /// <summary><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (see <see cref="Devices.Prepare"/> for whether CUDA is there).</summary>
    /// <exception cref="OptionException">It is none of these.</exception>
    public static void Device(string option, string value)
    {
        bool valid = value.Equals("cpu", StringComparison.OrdinalIgnoreCase) || value.Equals("cuda", StringComparison.OrdinalIgnoreCase)
                     || (value.StartsWith("cuda:", StringComparison.OrdinalIgnoreCase) && int.TryParse(value.AsSpan(5), out var index) && index >= 0);
        if (!valid) throw new OptionException($"{option} {value}: expected cpu, cuda or cuda:N.");
    }
}
