using System;
using System.IO;
using System.Linq;
using Xunit;

namespace OneLoRA.Pretrained.Tests;

public class SafetensorsImportTests
{
    private static readonly float[] LinWeight = [1f, 2f, 3f, 4f, 5f, 6f];
    private static readonly float[] LinBias = [7f, 8f];
    private static readonly float[] NormWeight = [9f, 10f];
    private static readonly float[] NormBias = [11f, 12f];

    [Fact]
    public void One_file_with_a_prefix_loads_after_stripping_it()
    {
        using var dir = new TempDir();
        var path = dir.File("model.safetensors");
        SafetensorsWriter.WriteFloat32(path, [
            ("bert.lin.weight", [2, 3], LinWeight), ("bert.lin.bias", [2], LinBias),
            ("bert.norm.weight", [2], NormWeight), ("bert.norm.bias", [2], NormBias)]);
        using var source = TensorSource.FromSafetensors(path);
        using var tiny = new Tiny();
        var report = PretrainedLoader.Load(tiny, source, new PretrainedLoadOptions { Names = NameMap.Identity.StripPrefix("bert.") });
        Assert.Equal(["lin.weight", "lin.bias", "norm.weight", "norm.bias"], report.Loaded.Select(l => l.Target));
        Assert.Equal("bert.lin.weight", report.Loaded[0].Source);
        var snap = tiny.Snapshot();
        Assert.Equal(LinWeight, snap["lin.weight"]);
        Assert.Equal(LinBias, snap["lin.bias"]);
        Assert.Equal(NormWeight, snap["norm.weight"]);
        Assert.Equal(NormBias, snap["norm.bias"]);
    }

    [Fact]
    public void Rename_rules_map_other_naming_schemes()
    {
        using var dir = new TempDir();
        var path = dir.File("model.safetensors");
        SafetensorsWriter.WriteFloat32(path, [
            ("fc.w", [2, 3], LinWeight), ("fc.b", [2], LinBias), ("ln.gamma", [2], NormWeight), ("ln.beta", [2], NormBias)]);
        using var source = TensorSource.FromSafetensors(path);
        using var tiny = new Tiny();
        var names = NameMap.Identity.Rename(@"^fc\.", "lin.").Rename(@"^ln\.", "norm.")
            .Rename(@"\.w$", ".weight").Rename(@"\.b$", ".bias").Rename(@"\.gamma$", ".weight").Rename(@"\.beta$", ".bias");
        PretrainedLoader.Load(tiny, source, new PretrainedLoadOptions { Names = names });
        var snap = tiny.Snapshot();
        Assert.Equal(LinWeight, snap["lin.weight"]);
        Assert.Equal(NormBias, snap["norm.bias"]);
    }

    [Fact]
    public void Sharded_index_loads_every_shard()
    {
        using var dir = new TempDir();
        SafetensorsWriter.WriteFloat32(dir.File("model-00001-of-00002.safetensors"), [("lin.weight", [2, 3], LinWeight), ("lin.bias", [2], LinBias)]);
        SafetensorsWriter.WriteFloat32(dir.File("model-00002-of-00002.safetensors"), [("norm.weight", [2], NormWeight), ("norm.bias", [2], NormBias)]);
        File.WriteAllText(dir.File("model.safetensors.index.json"), """
            {"metadata": {"total_size": 48}, "weight_map": {
              "lin.weight": "model-00001-of-00002.safetensors", "lin.bias": "model-00001-of-00002.safetensors",
              "norm.weight": "model-00002-of-00002.safetensors", "norm.bias": "model-00002-of-00002.safetensors"}}
            """);
        using var source = TensorSource.FromSafetensorsIndex(dir.File("model.safetensors.index.json"));
        Assert.Equal(4, source.Tensors.Count);
        using var tiny = new Tiny();
        var report = PretrainedLoader.Load(tiny, source);
        Assert.Contains("model-00002-of-00002", report.Loaded.Single(l => l.Target == "norm.bias").Origin);
        var snap = tiny.Snapshot();
        Assert.Equal(LinWeight, snap["lin.weight"]);
        Assert.Equal(LinBias, snap["lin.bias"]);
        Assert.Equal(NormWeight, snap["norm.weight"]);
        Assert.Equal(NormBias, snap["norm.bias"]);
    }

    [Fact]
    public void Index_and_shards_that_disagree_are_refused_with_every_difference()
    {
        using var dir = new TempDir();
        SafetensorsWriter.WriteFloat32(dir.File("a.safetensors"), [("lin.weight", [2, 3], LinWeight), ("stray", [1], [0f])]);
        File.WriteAllText(dir.File("index.json"), """{"weight_map": {"lin.weight": "a.safetensors", "lin.bias": "a.safetensors"}}""");
        var e = Assert.Throws<PretrainedFormatException>(() => TensorSource.FromSafetensorsIndex(dir.File("index.json")));
        Assert.Contains("'stray' is in a.safetensors but not in the index", e.Message);
        Assert.Contains("'lin.bias' is listed for a.safetensors but not in it", e.Message);

        File.WriteAllText(dir.File("index2.json"), """{"weight_map": {"lin.weight": "missing.safetensors"}}""");
        var missing = Assert.Throws<PretrainedFormatException>(() => TensorSource.FromSafetensorsIndex(dir.File("index2.json")));
        Assert.Contains("shard 'missing.safetensors' not found", missing.Message);
    }

    [Fact]
    public void Missing_extra_and_misshaped_tensors_are_listed_in_one_error_and_nothing_is_copied()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.safetensors");
        // lin.weight has the wrong shape, norm.bias is missing, two tensors fit nothing; lin.bias and norm.weight fit.
        SafetensorsWriter.WriteFloat32(path, [
            ("lin.weight", [3, 2], LinWeight), ("lin.bias", [2], LinBias), ("norm.weight", [2], NormWeight),
            ("head.weight", [1, 2], [1f, 2f]), ("extra", [1], [3f])]);
        using var source = TensorSource.FromSafetensors(path);
        using var tiny = new Tiny();
        var before = tiny.Snapshot();
        var e = Assert.Throws<PretrainedLoadException>(() => PretrainedLoader.Load(tiny, source));
        Assert.Equal(["norm.bias"], e.Missing);
        Assert.Equal(["head.weight", "extra"], e.Unused);
        var mismatch = Assert.Single(e.Mismatched);
        Assert.StartsWith("lin.weight: model [2,3] Float32, source [3,2] Float32", mismatch);
        Assert.Contains("norm.bias", e.Message);
        Assert.Contains("extra", e.Message);
        Assert.Contains("lin.weight", e.Message);
        Assert.Equal(before, tiny.Snapshot());

        // Non-strict allows missing and unused tensors but never a shape mismatch.
        var lax = Assert.Throws<PretrainedLoadException>(() => PretrainedLoader.Load(tiny, source, new PretrainedLoadOptions { Strict = false }));
        Assert.Empty(lax.Missing);
        Assert.Single(lax.Mismatched);
        Assert.Equal(before, tiny.Snapshot());
    }

    [Fact]
    public void Non_strict_load_reports_what_it_left_alone()
    {
        using var dir = new TempDir();
        var path = dir.File("partial.safetensors");
        SafetensorsWriter.WriteFloat32(path, [("lin.weight", [2, 3], LinWeight), ("other", [1], [1f]), ("pooler.x", [1], [1f])]);
        using var source = TensorSource.FromSafetensors(path);
        using var tiny = new Tiny();
        var before = tiny.Snapshot();
        var report = PretrainedLoader.Load(tiny, source, new PretrainedLoadOptions { Strict = false, Names = NameMap.Identity.Ignore(@"^pooler\.") });
        Assert.Equal(["lin.weight"], report.Loaded.Select(l => l.Target));
        Assert.Equal(["lin.bias", "norm.weight", "norm.bias"], report.Missing);
        Assert.Equal(["other"], report.Unused);
        Assert.Equal(["pooler.x"], report.Ignored);
        var after = tiny.Snapshot();
        Assert.Equal(LinWeight, after["lin.weight"]);
        Assert.Equal(before["lin.bias"], after["lin.bias"]);
    }

    [Fact]
    public void Two_sources_for_one_parameter_are_refused_and_nothing_is_copied()
    {
        using var dir = new TempDir();
        var path = dir.File("dup.safetensors");
        SafetensorsWriter.WriteFloat32(path, [
            ("lin.weight", [2, 3], LinWeight), ("model.lin.weight", [2, 3], LinWeight), ("lin.bias", [2], LinBias),
            ("norm.weight", [2], NormWeight), ("norm.bias", [2], NormBias)]);
        using var source = TensorSource.FromSafetensors(path);
        using var tiny = new Tiny();
        var before = tiny.Snapshot();
        var e = Assert.Throws<PretrainedLoadException>(() =>
            PretrainedLoader.Load(tiny, source, new PretrainedLoadOptions { Names = NameMap.Identity.StripPrefix("model.") }));
        Assert.Equal(["lin.weight ← lin.weight and model.lin.weight"], e.Duplicates);
        Assert.Empty(e.Missing);
        Assert.Equal(before, tiny.Snapshot());
    }
}
