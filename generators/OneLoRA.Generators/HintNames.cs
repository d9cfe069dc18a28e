using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using OneLoRA.Generators.Model;

namespace OneLoRA.Generators
{
    /// <summary>
    /// Gives every generated file a hint name no other file has. Roslyn compares hint names case-insensitively and drops
    /// the generator's whole output on a duplicate, so <c>N.A</c> and <c>N.a</c> (or names that only differ in characters
    /// replaced by <c>_</c>) get a stable hash of their exact full name; anything still equal gets an ordinal.
    /// </summary>
    public static class HintNames
    {
        private const string Suffix = ".Peft.g.cs";

        /// <summary>The files for all generated classes, in pipeline order.</summary>
        public static ImmutableArray<GeneratedFileModel> Assign(ImmutableArray<PeftClassModel> models)
        {
            var counts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            foreach (var model in models)
                counts[model.Class.HintName] = counts.TryGetValue(model.Class.HintName, out var n) ? n + 1 : 1;

            var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var files = ImmutableArray.CreateBuilder<GeneratedFileModel>(models.Length);
            foreach (var model in models)
            {
                var stem = model.Class.HintName;
                if (counts[stem] > 1) stem += "." + Fnv1a(model.Class.FullName).ToString("x8", CultureInfo.InvariantCulture);
                var name = stem + Suffix;
                for (int ordinal = 2; !used.Add(name); ordinal++)
                    name = stem + "." + ordinal.ToString(CultureInfo.InvariantCulture) + Suffix;
                files.Add(new GeneratedFileModel(name, model));
            }
            return files.MoveToImmutable();
        }

        /// <summary>Letters, digits, <c>_</c>, <c>.</c> and <c>`</c> (ASCII) are kept; any other character becomes <c>_</c>.</summary>
        public static string Sanitize(string name)
        {
            var chars = name.ToCharArray();
            for (int i = 0; i < chars.Length; i++)
            {
                var c = chars[i];
                bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c is '_' or '.' or '`';
                if (!safe) chars[i] = '_';
            }
            return new string(chars);
        }

        // FNV-1a over UTF-16 code units: stable across runs, processes and platforms (string.GetHashCode is not).
        private static uint Fnv1a(string text)
        {
            uint hash = 2166136261;
            foreach (var c in text)
            {
                hash = (hash ^ (c & 0xFFu)) * 16777619;
                hash = (hash ^ ((uint)c >> 8)) * 16777619;
            }
            return hash;
        }
    }
}
