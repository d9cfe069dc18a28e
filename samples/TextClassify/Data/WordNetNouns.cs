using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace TextClassify.Data;

/// <summary>
/// WordNet 3.0 noun synsets as supersense-classification examples, read from <c>data.noun</c> (Debian's
/// <c>wordnet-base</c>). The label is the synset's lexicographer file (its <c>lex_filenum</c> field, 03–28: the 26 noun
/// supersenses of lexnames(5WN)); the text is the first lemma with '_' as ' ', then ": " and the gloss. The key is the
/// synset offset. The license header (lines starting with two spaces) is skipped.
/// </summary>
public static class WordNetNouns
{
    /// <summary>Where Debian's wordnet-base installs the database.</summary>
    public const string DebianDirectory = "/usr/share/wordnet";

    /// <summary>The data file's name.</summary>
    public const string FileName = "data.noun";

    /// <summary>The 26 noun supersenses, lexicographer files 03 to 28 (WordNet's lexnames file; 00–02 are adjectives and adverbs).</summary>
    public static IReadOnlyList<string> Supersenses { get; } =
    [
        "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute", "noun.body", "noun.cognition",
        "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive",
        "noun.object", "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity",
        "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    ];

    /// <summary>lex_filenum of <see cref="Supersenses"/>[0].</summary>
    public const int FirstNounFile = 3;

    /// <summary>
    /// The data file to read: <c>$WNSEARCHDIR/data.noun</c> (WordNet's own variable for the database folder) when that
    /// variable is set, else <see cref="DebianDirectory"/>/data.noun.
    /// </summary>
    public static string DefaultPath(Func<string, string?>? environment = null)
    {
        var dir = (environment ?? Environment.GetEnvironmentVariable)("WNSEARCHDIR");
        return Path.Combine(string.IsNullOrWhiteSpace(dir) ? DebianDirectory : dir, FileName);
    }

    /// <summary>Reads every noun synset of <paramref name="path"/>, in file order.</summary>
    /// <exception cref="FileNotFoundException">The file is missing; the message says where it looked and how to install it.</exception>
    /// <exception cref="InvalidDataException">A line is not a WordNet noun synset; the message names the file and line.</exception>
    public static IReadOnlyList<LabeledText> Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"WordNet noun data not found at {path} (set WNSEARCHDIR to the folder holding {FileName}, or pass --data FILE.tsv). " +
                "Install it with: sudo apt-get install wordnet-base", path);
        var result = new List<LabeledText>(82_200);
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith("  ", StringComparison.Ordinal)) continue;   // license header
            result.Add(Parse(line, path, lineNumber));
        }
        return result;
    }

    /// <summary>
    /// One data line: <c>synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id…] p_cnt [ptr…] | gloss</c>
    /// (wndb(5WN)); w_cnt is two hexadecimal digits.
    /// </summary>
    /// <exception cref="InvalidDataException">The line does not have that form.</exception>
    public static LabeledText Parse(string line, string path, int lineNumber)
    {
        var bar = line.IndexOf(" | ", StringComparison.Ordinal);
        var fields = (bar < 0 ? line : line[..bar]).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string Fail(string what) => throw new InvalidDataException($"{path} line {lineNumber}: {what}; expected a WordNet noun synset 'offset lex_filenum n w_cnt word lex_id … | gloss'.");
        if (bar < 0) Fail("no ' | ' before the gloss");
        if (fields.Length < 6) Fail($"{fields.Length} fields before the gloss");
        if (!long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)) Fail($"synset offset '{fields[0]}' is not a number");
        if (!int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var lexFile)
            || lexFile < FirstNounFile || lexFile >= FirstNounFile + Supersenses.Count)
            Fail($"lex_filenum '{fields[1]}' is not a noun lexicographer file ({FirstNounFile:D2}–{FirstNounFile + Supersenses.Count - 1})");
        if (fields[2] != "n") Fail($"synset type '{fields[2]}' is not n");
        if (!int.TryParse(fields[3], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var words) || words < 1)
            Fail($"word count '{fields[3]}' is not a positive hexadecimal number");
        var gloss = line[(bar + 3)..].Trim();
        var lemma = fields[4].Replace('_', ' ');
        return new LabeledText(offset, gloss.Length == 0 ? lemma : $"{lemma}: {gloss}", Supersenses[lexFile - FirstNounFile]);
    }
}
