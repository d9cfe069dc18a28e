using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;

namespace OneLoRA.Generators.Tests.Snapshots;

/// <summary>
/// Verify's convention without Verify: <c>&lt;Test&gt;.verified.cs</c> beside this file is the accepted output;
/// a mismatch writes <c>&lt;Test&gt;.received.cs</c> and fails with a diff. <c>ONELORA_ACCEPT=1</c> accepts it.
/// </summary>
internal static class Snapshot
{
    public static void Verify(string actual, string test, [CallerFilePath] string callerFile = "")
    {
        var directory = BaselineDirectory(callerFile);
        var verified = Path.Combine(directory, test + ".verified.cs");
        var received = Path.Combine(directory, test + ".received.cs");
        actual = Normalize(actual);
        var expected = File.Exists(verified) ? Normalize(File.ReadAllText(verified)) : null;
        if (expected == actual)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        if (Environment.GetEnvironmentVariable("ONELORA_ACCEPT") == "1")
        {
            File.WriteAllText(verified, actual);
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        Assert.Fail(expected is null
            ? $"No baseline {verified}. Received output written to {received}; review it and rerun with ONELORA_ACCEPT=1 to accept."
            : $"Generated code differs from {verified} (received: {received}; ONELORA_ACCEPT=1 accepts):\n{Diff(expected, actual)}");
    }

    /// <summary>This source file's folder; found from the test binaries when a path map hides the source path.</summary>
    private static string BaselineDirectory(string callerFile)
    {
        var direct = Path.GetDirectoryName(callerFile);
        if (direct is not null && Directory.Exists(direct)) return direct;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Snapshots");
            if (File.Exists(Path.Combine(candidate, "SnapshotTests.cs"))) return candidate;
        }
        throw new DirectoryNotFoundException($"Snapshot baselines not found: neither '{direct}' nor a Snapshots folder above {AppContext.BaseDirectory} exists.");
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n");

    /// <summary>A line diff (longest common subsequence) showing changed lines with two lines of context.</summary>
    internal static string Diff(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (int i = a.Length - 1; i >= 0; i--)
            for (int j = b.Length - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);

        var lines = new List<(char Op, int Line, string Text)>();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y]) { lines.Add((' ', x + 1, a[x])); x++; y++; }
            else if (y < b.Length && (x == a.Length || lcs[x, y + 1] >= lcs[x + 1, y])) { lines.Add(('+', y + 1, b[y])); y++; }
            else { lines.Add(('-', x + 1, a[x])); x++; }
        }

        var sb = new StringBuilder();
        int lastShown = -1;
        for (int k = 0; k < lines.Count; k++)
        {
            bool near = false;
            for (int d = -2; d <= 2 && !near; d++)
                near = k + d >= 0 && k + d < lines.Count && lines[k + d].Op != ' ';
            if (!near) continue;
            if (lastShown >= 0 && k > lastShown + 1) sb.AppendLine("  ...");
            var (op, line, text) = lines[k];
            sb.Append(op).Append(' ').Append(line.ToString().PadLeft(4)).Append(" | ").AppendLine(text);
            lastShown = k;
        }
        return sb.ToString();
    }
}
