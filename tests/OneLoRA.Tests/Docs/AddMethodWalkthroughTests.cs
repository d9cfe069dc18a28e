using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using OneLoRA.Tests.Serialization;
using Xunit;

namespace OneLoRA.Tests.Docs;

/// <summary>
/// Keeps docs/architecture.md's "How to add a method" true: every registered built-in method has its folder under
/// src/OneLoRA/Methods, a section in docs/methods.md, and a row in its "Adapter file keys" table that names every key
/// the method actually writes (found by saving a real attachment, not from a list kept in the test).
/// </summary>
public sealed class AddMethodWalkthroughTests
{
    private static readonly string Root = FindRoot();

    public static TheoryData<string> BuiltInMethods()
    {
        var data = new TheoryData<string>();
        foreach (var name in PeftMethods.Names)
            if (PeftMethods.Create(name).GetType().Assembly == typeof(PeftMethods).Assembly)
                data.Add(name);
        return data;
    }

    [Fact]
    public void Every_built_in_method_is_enumerated()
    {
        // The theory below must not pass by enumerating nothing.
        Assert.True(BuiltInMethods().Count >= 10, string.Join(", ", PeftMethods.Names));
    }

    [Theory]
    [MemberData(nameof(BuiltInMethods))]
    public void Method_has_its_folder_named_after_its_namespace(string name)
    {
        var type = PeftMethods.Create(name).GetType();
        const string prefix = "OneLoRA.Methods.";
        Assert.StartsWith(prefix, type.Namespace);
        var folder = type.Namespace![prefix.Length..];
        var dir = Path.Combine(Root, "src", "OneLoRA", "Methods", folder);
        Assert.True(Directory.Exists(dir), $"{name}: expected its folder {dir}");
        Assert.True(File.Exists(Path.Combine(dir, type.Name + ".cs")), $"{name}: expected {type.Name}.cs in {dir}");
    }

    [Theory]
    [MemberData(nameof(BuiltInMethods))]
    public void Method_has_a_row_in_the_overview_of_docs_methods(string name)
    {
        var overview = Section(File.ReadAllText(Path.Combine(Root, "docs", "methods.md")), "## Overview");
        Assert.Contains(overview.Split('\n'), line => line.StartsWith('|') && line.Contains($"`{name}`", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(BuiltInMethods))]
    public void Every_key_the_method_writes_is_documented_in_its_file_keys_row(string name)
    {
        using var dir = new TempDirectory();
        var model = new TinyNet();
        var attachment = Peft.Attach(model, model.Targets(), PeftMethods.Create(name));
        attachment.Save(dir.Path);

        string peftType;
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, AdapterFiles.ConfigFileName))))
            peftType = config.RootElement.GetProperty("peft_type").GetString()!;
        var keys = attachment.AdapterStateDict().Select(e => e.Key).ToList();

        var table = Section(File.ReadAllText(Path.Combine(Root, "docs", "methods.md")), "## Adapter file keys");
        var rows = table.Split('\n').Where(l => l.StartsWith('|') && l.Contains($"`{peftType}`", StringComparison.Ordinal)).ToList();
        Assert.True(rows.Count > 0, $"{name}: docs/methods.md has no adapter-file-keys row for peft_type {peftType}");
        var documented = string.Join("\n", rows);
        var own = model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var key in keys)
        {
            // A trained parameter of the model itself (a norm, or every weight under Full) is documented by pattern,
            // e.g. `<norm path>.weight`; an adapter tensor by its own name, e.g. `lora_A.weight`.
            var rest = key.StartsWith(AdapterFiles.ModelPrefix, StringComparison.Ordinal) ? key[AdapterFiles.ModelPrefix.Length..] : key;
            var local = LocalKey(key);
            if (own.Contains(rest))
            {
                var pattern = ">" + rest[rest.LastIndexOf('.')..] + "`";
                Assert.True(documented.Contains(pattern, StringComparison.Ordinal),
                    $"{name}: writes the model's own '{rest}', but its row(s) for {peftType} in docs/methods.md name no `<path>{pattern}");
                continue;
            }
            Assert.True(documented.Contains($"`{local}", StringComparison.Ordinal),
                $"{name}: writes '{key}', but its row(s) for {peftType} in docs/methods.md do not name '{local}'");
        }
    }

    /// <summary>The part of a key after the layer path: "base_model.model.fc1.lora_A.weight" → "lora_A.weight".</summary>
    private static string LocalKey(string key)
    {
        var rest = key.StartsWith(AdapterFiles.ModelPrefix, StringComparison.Ordinal) ? key[AdapterFiles.ModelPrefix.Length..]
            : key.StartsWith(AdapterFiles.SharedPrefix, StringComparison.Ordinal) ? key[AdapterFiles.SharedPrefix.Length..] : key;
        foreach (var layer in new[] { "fc1.", "fc2." })
            if (rest.StartsWith(layer, StringComparison.Ordinal)) return rest[layer.Length..];
        return rest;
    }

    private static string Section(string markdown, string heading)
    {
        int start = markdown.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/methods.md lacks the heading '{heading}'");
        int end = markdown.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? markdown[start..] : markdown[start..end];
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "OneLoRA.Gen.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("OneLoRA.Gen.sln not found above " + AppContext.BaseDirectory);
    }
}
