// Shared by the runtime, the source generator and the analyzers (linked source, netstandard2.0 / C# 7.3-safe),
// so the three can never disagree on which member a glob selects.
using System;
using System.Collections.Generic;

namespace OneLoRA.Targeting
{
    /// <summary>
    /// <c>;</c>-separated glob lists: <c>*</c> matches any run of characters (also none), <c>?</c> exactly one,
    /// everything else itself, case-sensitively. Blank entries are ignored; surrounding spaces are trimmed.
    /// </summary>
    public static class TargetGlob
    {
        /// <summary>Splits a <c>;</c>-separated list into trimmed, non-empty patterns.</summary>
        public static string[] Split(string patterns)
        {
            if (patterns == null) return new string[0];
            var parts = patterns.Split(';');
            var result = new List<string>(parts.Length);
            foreach (var p in parts)
            {
                var t = p.Trim();
                if (t.Length > 0) result.Add(t);
            }
            return result.ToArray();
        }

        /// <summary>True when <paramref name="pattern"/> matches all of <paramref name="text"/>.</summary>
        public static bool IsMatch(string pattern, string text)
        {
            // Iterative wildcard match with single-star backtracking: O(|p|·|t|) worst case, no allocation.
            int p = 0, t = 0, star = -1, mark = 0;
            while (t < text.Length)
            {
                if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t])) { p++; t++; }
                else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
                else if (star >= 0) { p = star + 1; t = ++mark; }
                else return false;
            }
            while (p < pattern.Length && pattern[p] == '*') p++;
            return p == pattern.Length;
        }

        /// <summary>True when any pattern matches any of the names.</summary>
        public static bool AnyMatch(string[] patterns, string name, string typeName)
        {
            foreach (var pattern in patterns)
                if (IsMatch(pattern, name) || (typeName != null && IsMatch(pattern, typeName))) return true;
            return false;
        }

        /// <summary>
        /// The selection rule: a member is adapted when some target matches its name or its type name and
        /// no exclude pattern does.
        /// </summary>
        public static bool Selects(string targets, string exclude, string name, string typeName)
        {
            return AnyMatch(Split(targets), name, typeName) && !AnyMatch(Split(exclude), name, typeName);
        }
    }
}
