using System.Text;

namespace OneLoRA.Generators
{
    /// <summary>Writes lines with four-space indentation; the emitter's only output channel.</summary>
    public sealed class SourceWriter
    {
        private readonly StringBuilder text = new StringBuilder();
        private int depth;

        /// <summary>Writes one indented line (an empty line stays empty).</summary>
        public SourceWriter Line(string line = "")
        {
            if (line.Length > 0) text.Append(' ', depth * 4).Append(line);
            text.Append('\n');
            return this;
        }

        /// <summary>Writes <c>{</c> and indents.</summary>
        public SourceWriter Open()
        {
            Line("{");
            depth++;
            return this;
        }

        /// <summary>Dedents and writes <c>}</c> (plus an optional suffix such as <c>;</c>).</summary>
        public SourceWriter Close(string suffix = "")
        {
            depth--;
            return Line("}" + suffix);
        }

        /// <summary>Indents the next lines without a brace.</summary>
        public SourceWriter Indent()
        {
            depth++;
            return this;
        }

        /// <summary>Undoes <see cref="Indent"/>.</summary>
        public SourceWriter Dedent()
        {
            depth--;
            return this;
        }

        /// <inheritdoc />
        public override string ToString() => text.ToString();
    }
}
