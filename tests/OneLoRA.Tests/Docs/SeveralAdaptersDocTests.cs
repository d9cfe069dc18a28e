using System;
using System.IO;
using System.Linq;
using OneLoRA.Tests.Runtime;
using OneLoRA.Tests.Serialization;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Docs;

/// <summary>
/// Keeps the "Several adapters" examples of docs/adapter-files.md and README.md runnable: every statement below is
/// written in the docs verbatim (checked here) and run here on a small model, with the output folder in a temp directory.
/// </summary>
public sealed class SeveralAdaptersDocTests
{
    private static readonly string Root = FindRoot();

    private static readonly string[] DocStatements =
    [
        """var lora = PeftModel.Attach(model, new PeftOptions { Method = "LoRA", Rank = 2 });""",
        """model.AddAdapter("task-b", new PeftOptions { Method = "LoRA", Rank = 4 });""",
        """model.SetAdapter("task-b");""",
        """model.SetAdapter(["default", "task-b"]);""",
        """using (model.DisableAdapters()) {""",
        """model.AddWeightedAdapter(["default", "task-b"], [0.5, 0.5], "mix", "cat");""",
        """model.AdapterSet().Save("out/adapters");""",
        """var plain = model.MergeAndUnload();""",
    ];

    private static readonly string[] ReadmeStatements = DocStatements.Skip(1).Where(s => !s.StartsWith("model.SetAdapter([", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void The_docs_show_exactly_these_statements()
    {
        var doc = File.ReadAllText(Path.Combine(Root, "docs", "adapter-files.md"));
        var section = doc[doc.IndexOf("## Several adapters", StringComparison.Ordinal)..];
        foreach (var statement in DocStatements) Assert.Contains(statement, section);
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        foreach (var statement in ReadmeStatements) Assert.Contains(statement, readme);
    }

    [Fact]
    public void The_example_runs()
    {
        using var dir = new TempDirectory();
        var output = Path.Combine(dir.Path, "out", "adapters");
        using var model = new TwoLayerNet();
        using var g = TestRng.Create(2);
        var x = randn([3, 4], dtype: ScalarType.Float64, generator: g);
        Tensor Out() { using (no_grad()) return model.call(x).detach().clone(); }
        var baseOutput = Out();

        var lora = PeftModel.Attach(model, new PeftOptions { Method = "LoRA", Rank = 2 });
        model.AddAdapter("task-b", new PeftOptions { Method = "LoRA", Rank = 4 });
        using (no_grad())
            foreach (var a in model.AdapterSet().All)
                foreach (var l in a.Layers)
                    foreach (var p in l.Adapter.parameters())
                        p.copy_(randn(p.shape, dtype: p.dtype, generator: g));
        model.SetAdapter("task-b");
        Assert.Equal(model.AdapterSet()["task-b"].Layers.SelectMany(l => l.Adapter.parameters()).Count(), model.TrainableParameters().Count());
        model.SetAdapter(["default", "task-b"]);
        using (model.DisableAdapters()) { Assert.Equal(baseOutput.data<double>().ToArray(), Out().data<double>().ToArray()); }
        model.AddWeightedAdapter(["default", "task-b"], [0.5, 0.5], "mix", "cat");
        model.AdapterSet().Save(output);
        Assert.True(File.Exists(Path.Combine(output, AdapterFiles.ConfigFileName)));
        Assert.True(File.Exists(Path.Combine(output, "task-b", AdapterFiles.WeightsFileName)));
        Assert.True(File.Exists(Path.Combine(output, "mix", AdapterFiles.WeightsFileName)));
        var merged = Out();
        var plain = model.MergeAndUnload();
        Assert.Same(model, plain);
        Assert.Null(Peft.AttachmentFor(model));
        var diff = (merged - Out()).abs().max().item<double>();
        Assert.True(diff < 1e-10, $"merged vs unmerged: {diff:E3}");
        Assert.NotNull(lora);
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "OneLoRA.Gen.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("OneLoRA.Gen.sln not found above " + AppContext.BaseDirectory);
    }
}
