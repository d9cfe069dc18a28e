using System;
using System.Collections.Generic;

namespace OneLoRA.Analyzers
{
    /// <summary>
    /// The runtime's built-in method names and aliases (PeftMethods registrations) and which [Peft] options each
    /// method reads. Kept in step with src/OneLoRA/Methods by hand: the analyzer cannot load the runtime.
    /// </summary>
    internal static class BuiltInMethods
    {
        private static readonly Dictionary<string, string> CanonicalByName = Build(
            ("OneLoRA", new[] { "OneLoRA", "1lora", "onelora", "1-lora", "ilora" }),
            ("LoRA", new[] { "LoRA" }),
            ("DoRA", new[] { "DoRA" }),
            ("VeRA", new[] { "VeRA" }),
            ("MoRA", new[] { "MoRA", "MoRA1", "mora-1", "mora_1", "MoRA6", "mora-6", "mora_6" }),
            ("BitFit", new[] { "BitFit" }),
            ("DiffFit", new[] { "DiffFit" }),
            ("Full", new[] { "Full", "all", "fullfinetune", "full-finetune" }),
            ("None", new[] { "None" }));

        /// <summary>Options every method reads (selection and the paper's norms/biases/scale extras).</summary>
        private static readonly HashSet<string> Universal = new HashSet<string>(StringComparer.Ordinal)
        {
            "Targets", "Exclude", "TrainNorms", "TrainBiases", "TrainScale",
        };

        private static readonly Dictionary<string, string[]> Readers = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["Rank"] = new[] { "LoRA", "DoRA", "VeRA", "MoRA" },
            ["Alpha"] = new[] { "LoRA", "DoRA" },
            ["UseRsLoRA"] = new[] { "LoRA", "DoRA" },
            ["Dropout"] = new[] { "LoRA", "DoRA", "VeRA", "MoRA" },
            ["MoRAType"] = new[] { "MoRA" },
            ["MoRARankRule"] = new[] { "MoRA" },
            ["ProjectionPrngKey"] = new[] { "VeRA" },
            ["VeRADInitial"] = new[] { "VeRA" },
            ["RandomCompression"] = new[] { "OneLoRA" },
            ["CompressionSeed"] = new[] { "OneLoRA" },
        };

        /// <summary>The canonical built-in name for a name or alias (case-insensitive), or null for a plugin name.</summary>
        public static string? Resolve(string name) => CanonicalByName.TryGetValue(name.Trim(), out var canonical) ? canonical : null;

        /// <summary>The MoRA type an alias fixes ("mora1" → 1, "mora6" → 6), or null.</summary>
        public static int? FixedMoRAType(string name)
        {
            var key = name.Trim().Replace("-", "").Replace("_", "");
            if (string.Equals(key, "mora1", StringComparison.OrdinalIgnoreCase)) return 1;
            if (string.Equals(key, "mora6", StringComparison.OrdinalIgnoreCase)) return 6;
            return null;
        }

        /// <summary>The methods that read an option, or null when every method reads it (or it is not a method option).</summary>
        public static string[]? ReadersOf(string option)
        {
            if (Universal.Contains(option)) return null;
            return Readers.TryGetValue(option, out var readers) ? readers : null;
        }

        private static Dictionary<string, string> Build(params (string Canonical, string[] Names)[] methods)
        {
            var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (canonical, names) in methods)
                foreach (var name in names) map[name] = canonical;
            return map;
        }
    }
}
