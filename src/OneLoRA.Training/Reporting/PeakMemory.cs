using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace OneLoRA.Training.Reporting;

/// <summary>The process's peak resident memory: VmHWM from /proc/self/status on Linux, PeakWorkingSet64 elsewhere.</summary>
public static class PeakMemory
{
    /// <summary>Peak resident set size in bytes.</summary>
    public static long Bytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (var line in File.ReadLines(status))
            {
                // "VmHWM:    123456 kB"
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                    return kb * 1024;
            }
        }
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>Bytes as MiB with one decimal.</summary>
    public static string Format(long bytes) => string.Format(CultureInfo.InvariantCulture, "{0:F1} MiB", bytes / (1024.0 * 1024.0));
}
