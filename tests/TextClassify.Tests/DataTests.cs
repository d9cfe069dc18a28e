using System;
using System.IO;
using System.Linq;
using TextClassify.Data;
using Xunit;

namespace TextClassify.Tests;

public class DataTests
{
    // Two license lines (they start with two spaces, as in Debian's data.noun), then three synsets in wndb(5WN) form.
    private const string SmallNouns =
        "  1 This software and database is being provided to you, the LICENSEE, by  \n" +
        "  2 Princeton University under the following license.  \n" +
        "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04424418 n 0000 | that which is perceived or known  \n" +
        "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 001 @ 02083346 n 0000 | a member of the genus Canis  \n" +
        "12992868 20 n 01 shelf_fungus 0 001 @ 00004475 n 0000 | a fungus that grows on trees  \n";

    [Fact]
    public void WordNetReaderSkipsTheLicenseAndBuildsLemmaGlossTextsWithSupersenseLabels()
    {
        using var dir = new TempDir();
        var examples = WordNetNouns.Read(dir.File("data.noun", SmallNouns));
        Assert.Equal(
            [
                new LabeledText(1740, "entity: that which is perceived or known", "noun.Tops"),
                new LabeledText(2084071, "dog: a member of the genus Canis", "noun.animal"),
                new LabeledText(12992868, "shelf fungus: a fungus that grows on trees", "noun.plant"),
            ],
            examples);
    }

    [Fact]
    public void TheSupersensesAreWordNetsTwentySixNounLexicographerFiles()
    {
        Assert.Equal(26, WordNetNouns.Supersenses.Count);
        Assert.Equal(26, WordNetNouns.Supersenses.Distinct().Count());
        Assert.All(WordNetNouns.Supersenses, s => Assert.StartsWith("noun.", s));
        // lexnames(5WN): 03 noun.Tops, 05 noun.animal, 06 noun.artifact, 18 noun.person, 28 noun.time.
        Assert.Equal("noun.Tops", WordNetNouns.Supersenses[3 - WordNetNouns.FirstNounFile]);
        Assert.Equal("noun.animal", WordNetNouns.Supersenses[5 - WordNetNouns.FirstNounFile]);
        Assert.Equal("noun.artifact", WordNetNouns.Supersenses[6 - WordNetNouns.FirstNounFile]);
        Assert.Equal("noun.person", WordNetNouns.Supersenses[18 - WordNetNouns.FirstNounFile]);
        Assert.Equal("noun.time", WordNetNouns.Supersenses[28 - WordNetNouns.FirstNounFile]);
    }

    [Fact]
    public void MissingWordNetSaysWhereItLookedAndHowToInstall()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "data.noun");
        var e = Assert.Throws<FileNotFoundException>(() => WordNetNouns.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("sudo apt-get install wordnet-base", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void WordNetFolderComesFromWnSearchDirElseDebiansFolder()
    {
        Assert.Equal("/usr/share/wordnet/data.noun", WordNetNouns.DefaultPath(_ => null));
        Assert.Equal(Path.Combine("/opt/wn/dict", "data.noun"), WordNetNouns.DefaultPath(v => v == "WNSEARCHDIR" ? "/opt/wn/dict" : null));
    }

    [Theory]
    [InlineData("00001740 03 n 01 entity 0 000 that which is", "no ' | '")]
    [InlineData("0000174x 03 n 01 entity 0 000 | gloss", "synset offset")]
    [InlineData("00001740 00 n 01 entity 0 000 | gloss", "lex_filenum '00'")]
    [InlineData("00001740 29 n 01 entity 0 000 | gloss", "lex_filenum '29'")]
    [InlineData("00001740 03 v 01 entity 0 000 | gloss", "synset type 'v'")]
    [InlineData("00001740 03 n zz entity 0 000 | gloss", "word count 'zz'")]
    [InlineData("00001740 03 n | gloss", "fields before the gloss")]
    public void MalformedWordNetLinesAreNamedByLineNumber(string bad, string expected)
    {
        using var dir = new TempDir();
        var lines = SmallNouns.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        lines.Insert(3, bad);   // the fourth line of the file
        var path = dir.File("data.noun", string.Join("\n", lines) + "\n");
        var e = Assert.Throws<InvalidDataException>(() => WordNetNouns.Read(path));
        Assert.Contains($"{path} line 4:", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TsvReaderKeysByLineNumberAndSkipsEmptyLines()
    {
        using var dir = new TempDir();
        var path = dir.File("data.tsv", "\uFEFFgood movie\tpos\n\nbad movie \t neg\r\nokay\tpos\n");
        Assert.Equal(
            [new LabeledText(1, "good movie", "pos"), new LabeledText(3, "bad movie", "neg"), new LabeledText(4, "okay", "pos")],
            TsvData.Read(path));
    }

    [Theory]
    [InlineData("no tab here", "no tab")]
    [InlineData("a\tb\tc", "more than one tab")]
    [InlineData("text\t ", "empty label")]
    [InlineData(" \tlabel", "empty text")]
    public void MalformedTsvLinesAreNamedByLineNumber(string bad, string expected)
    {
        using var dir = new TempDir();
        var path = dir.File("data.tsv", $"one\ta\n\n{bad}\ntwo\tb\n");
        var e = Assert.Throws<InvalidDataException>(() => TsvData.Read(path));
        Assert.Equal($"{path} line 3: {expected}; expected text<TAB>label.", e.Message);
    }

    [Fact]
    public void TsvFileThatIsMissingEmptyOrNotUtf8IsRefused()
    {
        using var dir = new TempDir();
        Assert.Contains("no such file", Assert.Throws<FileNotFoundException>(() => TsvData.Read(Path.Combine(dir.Path, "none.tsv"))).Message);
        Assert.Contains("no text<TAB>label line", Assert.Throws<InvalidDataException>(() => TsvData.Read(dir.File("empty.tsv", "\n\n"))).Message);
        var latin1 = Path.Combine(dir.Path, "latin1.tsv");
        File.WriteAllBytes(latin1, [.. "ok\ta\ncaf"u8, 0xE9, .. "\tb\n"u8]);
        Assert.Contains("line 2: not valid UTF-8", Assert.Throws<InvalidDataException>(() => TsvData.Read(latin1)).Message);
    }

    [Fact]
    public void TheSplitHashIsSplitMix64()
    {
        // Reference outputs of Vigna's splitmix64.c seeded with 0: next() adds the golden gamma, then mixes.
        Assert.Equal(0xE220A8397B1DCDAFUL, DataSplit.Mix(0));
        Assert.Equal(0x6E789E6AA1B965F4UL, DataSplit.Mix(0x9E3779B97F4A7C15UL));
        Assert.Equal(0x06C45D188009454FUL, DataSplit.Mix(unchecked(2 * 0x9E3779B97F4A7C15UL)));
    }

    [Fact]
    public void TheSplitIsEightyTenTenOnConsecutiveKeys()
    {
        var parts = Enumerable.Range(1, 100_000).Select(k => DataSplit.PartOf(k)).ToList();
        Assert.InRange(parts.Count(p => p == SplitPart.Train), 79_000, 81_000);
        Assert.InRange(parts.Count(p => p == SplitPart.Validation), 9_500, 10_500);
        Assert.InRange(parts.Count(p => p == SplitPart.Test), 9_500, 10_500);
        Assert.Equal(parts, Enumerable.Range(1, 100_000).Select(k => DataSplit.PartOf(k)).ToList());
    }

    [Fact]
    public void SubsetsAreExactUnbiasedAndKeepFileOrder()
    {
        // A file grouped by label, as data.noun is: the first half 'a', the second half 'b'.
        var examples = Enumerable.Range(0, 4000).Select(i => new LabeledText(i, $"t{i}", i < 2000 ? "a" : "b")).ToList();
        var subset = DataSplit.Subset(examples, 400);
        Assert.Equal(400, subset.Count);
        Assert.Equal(400, subset.Distinct().Count());
        Assert.All(subset, e => Assert.Contains(e, examples));
        Assert.Equal(subset.OrderBy(e => e.Key).ToList(), subset);
        Assert.InRange(subset.Count(e => e.Label == "a"), 160, 240);
        Assert.Same(examples, DataSplit.Subset(examples, 0));
        Assert.Same(examples, DataSplit.Subset(examples, 5000));
    }

    [Fact]
    public void TsvLabelsAreSortedAndLabelSelectionKeepsOnlyThose()
    {
        using var dir = new TempDir();
        var lines = Enumerable.Range(0, 300).Select(i => $"text {i}\t{(i % 3) switch { 0 => "zebra", 1 => "apple", _ => "mango" }}");
        var path = dir.File("d.tsv", string.Join("\n", lines));
        var task = TextTask.Load(path, "/unused");
        Assert.Equal(["apple", "mango", "zebra"], task.Labels);
        Assert.Equal(300, task.Train.Count + task.Validation.Count + task.Test.Count);
        Assert.Empty(task.Train.Select(e => e.Key).Intersect(task.Test.Select(e => e.Key)));
        Assert.Equal(task.All.Where(e => DataSplit.PartOf(e.Key) == SplitPart.Test).ToList(), task.Test);

        var two = TextTask.Load(path, "/unused", ["zebra", "apple"]);
        Assert.Equal(["apple", "zebra"], two.Labels);
        Assert.Equal(200, two.All.Count);
        Assert.Equal([0L, 1L], two.LabelIndices([two.All.First(e => e.Label == "apple"), two.All.First(e => e.Label == "zebra")]));

        var e = Assert.Throws<InvalidDataException>(() => TextTask.Load(path, "/unused", ["apple", "kiwi"]));
        Assert.Contains("'kiwi' not found", e.Message);
    }

    [Fact]
    public void DataWithALabelTheModelDoesNotKnowIsNamed()
    {
        using var dir = new TempDir();
        var path = dir.File("d.tsv", "a\tx\nb\ty\nc\tw\n");
        var e = Assert.Throws<InvalidDataException>(() => TextTask.Load(path, "/unused", modelLabels: ["x", "y"]));
        Assert.Equal($"{path} line 3: label 'w' is not one of the model's 2 labels (x, y).", e.Message);
    }

    [Fact]
    public void RealWordNetNounsHave82115SynsetsIn26SupersensesSplit80_10_10()
    {
        var path = WordNetNouns.DefaultPath();
        Assert.True(File.Exists(path), $"{path} is missing: .ci/run installs wordnet-base (sudo apt-get install wordnet-base).");
        var task = TextTask.Load(null, path);
        Assert.Equal(82_115, task.All.Count);
        Assert.Equal(WordNetNouns.Supersenses, task.Labels);
        Assert.Equal(82_115, task.All.Select(e => e.Key).Distinct().Count());
        // Sizes of this split (pinned: a change of the hash would silently change every reported figure).
        Assert.Equal(65_649, task.Train.Count);
        Assert.Equal(8_166, task.Validation.Count);
        Assert.Equal(8_300, task.Test.Count);
        // Every supersense is in every part, even noun.motive (42 synsets).
        foreach (var part in new[] { task.Train, task.Validation, task.Test })
            Assert.Equal(26, part.Select(e => e.Label).Distinct().Count());
        // grep '^02084071' data.noun: "dog 0 domestic_dog 0 Canis_familiaris 0" in lexicographer file 05.
        var dog = task.All.Single(e => e.Key == 2084071);
        Assert.Equal("noun.animal", dog.Label);
        Assert.StartsWith("dog: a member of the genus Canis", dog.Text);
        Assert.Equal(11_587, task.All.Count(e => e.Label == "noun.artifact"));   // the largest supersense
    }
}
