namespace TextClassify.Data;

/// <summary>One example: its split key (a WordNet synset offset, or a TSV line number), its text and its label name.</summary>
/// <param name="Key">What the split hashes: the synset's byte offset in data.noun, or the 1-based line number in a TSV file.</param>
/// <param name="Text">The input text.</param>
/// <param name="Label">The label's name (e.g. <c>noun.animal</c>).</param>
public sealed record LabeledText(long Key, string Text, string Label);
