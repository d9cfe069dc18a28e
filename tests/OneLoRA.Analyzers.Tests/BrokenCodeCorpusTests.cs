using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using OneLoRA.Analyzers.Tests.Infrastructure;
using OneLoRA.Generators;
using Xunit;
using Xunit.Abstractions;

namespace OneLoRA.Analyzers.Tests;

/// <summary>
/// A seeded corpus of generated and mutated [Peft] sources, run through the generator and the analyzers as a build does.
/// For each: the generator does not throw and no analyzer throws; user code that compiles either compiles together with
/// its generated code, or gets an OLORA error or warning that says why. The outcome counts are printed.
/// </summary>
public sealed class BrokenCodeCorpusTests(ITestOutputHelper output)
{
    private const int Seed = 20261203;
    private const int Cases = 240;

    [Fact]
    public async Task Generator_never_throws_and_uncompilable_generated_code_is_always_explained()
    {
        var random = new Random(Seed);
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var unexplained = new List<string>();
        for (int i = 0; i < Cases; i++)
        {
            var (source, version) = Case(random);
            var outcome = await RunAsync(i, source, version, unexplained);
            counts[outcome] = counts.TryGetValue(outcome, out var n) ? n + 1 : 1;
        }
        foreach (var (outcome, count) in counts) output.WriteLine($"{count,4}  {outcome}");
        Assert.Equal(Cases, counts.Values.Sum());
        Assert.True(unexplained.Count == 0, "Generated code failed to compile with no OLORA diagnostic:\n" + string.Join("\n\n", unexplained.Take(3)));
        // The corpus exercises every branch: broken user code, clean generation, and blocked-and-explained classes.
        Assert.Contains(counts.Keys, k => k.StartsWith("user code does not compile", StringComparison.Ordinal));
        Assert.Contains(counts.Keys, k => k.StartsWith("generated code compiles", StringComparison.Ordinal));
        Assert.Contains(counts.Keys, k => k.StartsWith("no generated file", StringComparison.Ordinal) && k.EndsWith("says why", StringComparison.Ordinal));
    }

    private static async Task<string> RunAsync(int index, string source, LanguageVersion version, List<string> unexplained)
    {
        var parse = TestCompilation.ParseOptions.WithLanguageVersion(version)
            .WithFeatures([new KeyValuePair<string, string>("InterceptorsNamespaces", "OneLoRA.Generated")]);
        var user = CSharpCompilation.Create("Corpus", [CSharpSyntaxTree.ParseText(source, parse, $"Case{index}.cs")], TestCompilation.References,
            TestCompilation.Options.WithSpecificDiagnosticOptions([new("CS1701", ReportDiagnostic.Suppress), new("CS1702", ReportDiagnostic.Suppress)]));
        var driver = CSharpGeneratorDriver.Create([new PeftGenerator().AsSourceGenerator()], parseOptions: parse)
            .RunGeneratorsAndUpdateCompilation(user, out var built, out _);
        var run = Assert.Single(driver.GetRunResult().Results);
        Assert.True(run.Exception is null, $"case {index}: generator threw {run.Exception}\n{source}");
        Assert.DoesNotContain(built.GetDiagnostics(), d => d.Id is "CS8784" or "CS8785");

        if (user.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error))
        {
            // Broken user code: only "never throws" applies (analyzers too).
            await TestCompilation.AnalyzeAsync(built);
            return "user code does not compile";
        }

        var olora = await TestCompilation.AnalyzeAsync(built);
        var oloraError = olora.Any(d => d.Severity == DiagnosticSeverity.Error);
        var errors = built.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count == 0)
            return run.GeneratedSources.IsEmpty
                ? "no generated file (every class skipped), user code compiles" + (oloraError ? ", OLORA error says why" : ", nothing to generate")
                : "generated code compiles" + (oloraError ? ", OLORA error for another reason (bad option, a skipped class)" : "");
        if (olora.Count == 0)
            unexplained.Add($"case {index}: {string.Join("; ", errors.Take(3))}\n{source}");
        return olora.Count == 0 ? "generated code does not compile, UNEXPLAINED"
            : oloraError ? "generated code does not compile, OLORA error says why" : "generated code does not compile, OLORA warning says why";
    }

    // ---- the corpus ----

    private static readonly string[] Names = ["fc", "fc1", "fc2", "proj", "head", "gate", "q", "k", "v", "@base", "@event", "Layer", "mlp"];
    private static readonly string[] Clashing = ["MergeAdapters", "UnmergeAdapters", "AttachAdapters", "PeftLayers", "CollectTargetLayers", "DefaultPeftOptions", "__PeftLayerTable", "__PeftHelper"];

    private static (string Source, LanguageVersion Version) Case(Random r)
    {
        var version = r.Next(20) == 0 ? LanguageVersion.CSharp10 : LanguageVersion.Latest;
        var sb = new StringBuilder("using System;\nusing System.Collections.Generic;\nusing OneLoRA;\nusing TorchSharp;\nusing TorchSharp.Modules;\nusing static TorchSharp.torch;\n");
        var ns = Pick(r, "", "Models", "@class", "A.B", "Modèles");
        if (ns.Length > 0) sb.Append("namespace ").Append(ns).Append("\n{\n");

        int classes = 1 + r.Next(3);
        var declared = new List<string>();   // classes a later one may derive from or hold
        for (int c = 0; c < classes; c++)
        {
            // Names that differ only in case collide as hint names.
            var name = Pick(r, "Net", "net", "Block", "Mlp", "G", "@class") + (r.Next(3) == 0 ? "" : c.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (declared.Contains(name)) name += "X";
            bool nested = r.Next(8) == 0;
            if (nested) sb.Append(Pick(r, "public partial class", "public class", "file partial class", "public static partial class")).Append(" Outer").Append(c).Append("\n{\n");
            var derivable = AppendClass(r, sb, name, declared);
            if (nested) sb.Append("}\n");
            else if (derivable) declared.Add(name);
        }
        if (ns.Length > 0) sb.Append("}\n");

        var text = sb.ToString();
        // Mutations: about a third of the cases lose or gain a few characters somewhere.
        int mutations = r.Next(3) == 0 ? 1 + r.Next(3) : 0;
        for (int m = 0; m < mutations; m++)
        {
            int at = r.Next(text.Length);
            text = r.Next(3) switch
            {
                0 => text.Remove(at, Math.Min(1 + r.Next(6), text.Length - at)),
                1 => text.Insert(at, Pick(r, "}", "{", ";", "(", "partial ", "static ", "[NoPeft]", "\u2028", "\"", "/*", "file ")),
                _ => text.Insert(at, Pick(r, " ", "\n", "x", "0", ",")),
            };
        }
        return (text, version);
    }

    /// <summary>Appends one class; true when a later class can derive from it (public, not sealed, not generic).</summary>
    private static bool AppendClass(Random r, StringBuilder sb, string name, List<string> declared)
    {
        var method = Pick(r, "Method.OneLoRA", "Method.LoRA", "Method.DoRA", "\"lora\"", "\"plugin\"", "(Method)42");
        var args = new List<string> { method };
        if (r.Next(3) == 0) args.Add("Targets = \"" + Pick(r, "fc*", "*", "q;k;v", "proj;head", "nothing", "", "Linear") + "\"");
        if (r.Next(4) == 0) args.Add("Exclude = \"" + Pick(r, "head", "gate;q", "*", "Block*") + "\"");
        if (r.Next(4) == 0) args.Add("Rank = " + Pick(r, "4", "0", "-1", "100000"));
        if (r.Next(6) == 0) args.Add("Alpha = " + Pick(r, "8", "double.NaN", "-2.5"));
        if (r.Next(40) != 0) sb.Append("[Peft(").Append(string.Join(", ", args)).Append(")]\n");

        var modifiers = r.Next(10) switch
        {
            0 => "public",
            1 => "file partial",
            2 => "internal sealed partial",
            3 => "public abstract partial",
            _ => "public partial",
        };
        var typeParameters = r.Next(10) == 0 ? Pick(r, "<T>", "<T> ", "<PeftLayers>") : "";
        var baseType = declared.Count > 0 && r.Next(3) == 0 ? declared[^1]
            : r.Next(25) == 0 ? "object" : "nn.Module<Tensor, Tensor>";
        sb.Append(modifiers).Append(" class ").Append(name).Append(typeParameters).Append(" : ").Append(baseType).Append("\n{\n");

        var members = new List<(string Name, string Kind)>();
        int count = r.Next(5);
        for (int m = 0; m < count; m++)
        {
            var member = Pick(r, Names) + (r.Next(2) == 0 ? "" : m.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (members.Any(x => x.Name == member)) continue;
            var kind = r.Next(12) switch
            {
                0 or 1 or 2 or 3 => "Linear",
                4 => "Linear[]",
                5 => "ModuleList<Linear>",
                6 => "static Linear",
                7 => "List<Linear>",
                8 => "Sequential",
                9 => "[NoPeft] Linear",
                10 => "prop",
                _ => "computed",
            };
            members.Add((member, kind));
            switch (kind)
            {
                case "Linear" or "[NoPeft] Linear" or "static Linear":
                    sb.Append("    ").Append(kind.StartsWith("static", StringComparison.Ordinal) ? "private static readonly Linear " : kind.StartsWith("[", StringComparison.Ordinal) ? "[NoPeft] private readonly Linear " : "private readonly Linear ")
                        .Append(member).Append(" = nn.Linear(4, 4);\n");
                    break;
                case "Linear[]":
                    sb.Append("    private readonly Linear[] ").Append(member).Append(" = new[] { nn.Linear(4, 4) };\n");
                    break;
                case "ModuleList<Linear>":
                    sb.Append("    private readonly ModuleList<Linear> ").Append(member).Append(" = new ModuleList<Linear>(nn.Linear(4, 4));\n");
                    break;
                case "List<Linear>":
                    sb.Append("    private readonly List<Linear> ").Append(member).Append(" = new List<Linear> { nn.Linear(4, 4) };\n");
                    break;
                case "Sequential":
                    sb.Append("    private readonly Sequential ").Append(member).Append(" = nn.Sequential(nn.Linear(4, 4));\n");
                    break;
                case "prop":
                    sb.Append("    public Linear ").Append(member).Append(" { get; } = nn.Linear(4, 4);\n");
                    break;
                default:
                    sb.Append("    public Linear ").Append(member).Append(" => nn.Linear(4, 4);\n");
                    break;
            }
        }
        if (r.Next(12) == 0) sb.Append("    public void ").Append(Pick(r, Clashing)).Append("() { }\n");
        if (r.Next(15) == 0 && declared.Count > 0) sb.Append("    private readonly ").Append(declared[0]).Append("? child;\n");

        if (baseType != "object")
        {
            if (baseType == "nn.Module<Tensor, Tensor>") sb.Append("    public ").Append(name).Append("() : base(\"m\") { RegisterComponents(); }\n");
            var uses = members.Where(x => x.Kind is "Linear" or "prop" or "[NoPeft] Linear" or "static Linear").Select(x => x.Name).ToList();
            var body = new StringBuilder("x");
            foreach (var use in uses)
            {
                var call = Pick(r, "forward", "call");
                body = new StringBuilder((r.Next(4) == 0 ? "this." : "") + use + "." + call + "(" + body + ")");
            }
            foreach (var list in members.Where(x => x.Kind is "Linear[]" or "ModuleList<Linear>"))
                body = new StringBuilder(list.Name + "[0].forward(" + body + ")");
            if (r.Next(8) == 0 && uses.Count > 0)
                sb.Append("    public override Tensor forward(Tensor x) { var copy = ").Append(uses[0]).Append("; return copy.forward(").Append(body).Append("); }\n");
            else
                sb.Append("    public override Tensor forward(Tensor x) => ").Append(body).Append(";\n");
        }
        sb.Append("}\n");
        return modifiers is "public partial" or "public abstract partial" or "public" && typeParameters.Length == 0 && baseType != "object";
    }

    private static string Pick(Random r, params string[] options) => options[r.Next(options.Length)];
}
