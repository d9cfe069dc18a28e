using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace TextClassify.Data;

/// <summary>
/// A user's data set: UTF-8 lines <c>text&lt;TAB&gt;label</c>, any labels. Empty lines are skipped; every other line
/// must have exactly one tab with a non-empty text before it and a non-empty label after it. The key (what the split
/// hashes) is the 1-based line number, so the split is fixed for a given file.
/// </summary>
public static class TsvData
{
    /// <summary>Reads the examples of <paramref name="path"/>, in file order.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A line is malformed (the message names the file and line number), or the file holds no example.</exception>
    public static IReadOnlyList<LabeledText> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--data {path}: no such file (expected text<TAB>label lines).", path);
        var result = new List<LabeledText>();
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var bytes = File.ReadAllBytes(path).AsSpan();
        if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        for (int lineNumber = 1; bytes.Length > 0; lineNumber++)
        {
            int end = bytes.IndexOf((byte)'\n');
            var raw = end < 0 ? bytes : bytes[..end];
            bytes = end < 0 ? [] : bytes[(end + 1)..];
            if (raw.Length > 0 && raw[^1] == (byte)'\r') raw = raw[..^1];
            string line;
            try { line = strict.GetString(raw); }
            catch (DecoderFallbackException) { throw new InvalidDataException($"{path} line {lineNumber}: not valid UTF-8; expected text<TAB>label."); }
            if (line.Length == 0) continue;
            result.Add(Parse(line, path, lineNumber));
        }
        if (result.Count == 0) throw new InvalidDataException($"{path}: no text<TAB>label line in the file.");
        return result;
    }

    /// <summary>One line: exactly one tab, non-empty text and label (both trimmed).</summary>
    /// <exception cref="InvalidDataException">The line is malformed; the message names the file and line number.</exception>
    public static LabeledText Parse(string line, string path, int lineNumber)
    {
        var tab = line.IndexOf('\t');
        string Fail(string what) => throw new InvalidDataException($"{path} line {lineNumber}: {what}; expected text<TAB>label.");
        if (tab < 0) Fail("no tab");
        if (line.IndexOf('\t', tab + 1) >= 0) Fail("more than one tab");
        var text = line[..tab].Trim();
        var label = line[(tab + 1)..].Trim();
        if (text.Length == 0) Fail("empty text");
        if (label.Length == 0) Fail("empty label");
        return new LabeledText(lineNumber, text, label);
    }
}
