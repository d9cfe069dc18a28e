using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using FashionVit.Cli;
using FashionVit.Model;
using FashionVit.Training;
using OneLoRA;
using Xunit;

namespace FashionVit.Tests;

public sealed class CacheTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("fashionvit-cache-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static readonly PretrainConfig Base = new(new VitConfig(4, 64, 4, 4, 2, 5), [0, 1, 2, 3, 4], 2, 0, 1e-3, 64, 0.01, 0, 0);

    public static IEnumerable<object[]> OneFieldChanged() =>
    [
        [Base with { Model = Base.Model with { PatchSize = 7 } }],
        [Base with { Model = Base.Model with { Dim = 32 } }],
        [Base with { Model = Base.Model with { Depth = 3 } }],
        [Base with { Model = Base.Model with { Heads = 2 } }],
        [Base with { Model = Base.Model with { MlpRatio = 4 } }],
        [Base with { Model = Base.Model with { Classes = 4 }, SourceClasses = [0, 1, 2, 3] }],
        [Base with { SourceClasses = [0, 1, 2, 3, 6] }],
        [Base with { SourceClasses = [1, 0, 2, 3, 4] }],
        [Base with { Epochs = 3 }],
        [Base with { Steps = 100 }],
        [Base with { LearningRate = 2e-3 }],
        [Base with { Batch = 32 }],
        [Base with { WeightDecay = 0 }],
        [Base with { Seed = 1 }],
        [Base with { TrainLimit = 1000 }],
    ];

    [Theory]
    [MemberData(nameof(OneFieldChanged))]
    public void EveryFieldOfThePretrainingIsPartOfTheKey(PretrainConfig changed)
    {
        Assert.NotEqual(Base.Hash, changed.Hash);
        Assert.False(Base.Matches(changed));
        Assert.NotEqual(PretrainCache.PathsFor(Base, directory).Weights, PretrainCache.PathsFor(changed, directory).Weights);
    }

    [Fact]
    public void EqualConfigsShareAKeyAndTheKeyIsTheHashOfTheCanonicalJson()
    {
        var copy = Base with { SourceClasses = [0, 1, 2, 3, 4] };   // equal values, another array instance
        Assert.Equal(Base.Hash, copy.Hash);
        Assert.True(Base.Matches(copy));
        Assert.Matches("^[0-9a-f]{16}$", Base.Hash);
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Base.ToCanonicalJson())))[..16];
        Assert.Equal(expected, Base.Hash);
        Assert.Contains("\"source_classes\":[0,1,2,3,4]", Base.ToCanonicalJson());
        Assert.Contains("\"format_version\":1", Base.ToCanonicalJson());
        Assert.True(PretrainConfig.FromCanonicalJson(Base.ToCanonicalJson())!.Matches(Base));
        var (weights, info) = PretrainCache.PathsFor(Base, directory);
        Assert.Equal(Path.Combine(directory, $"fashionvit-{Base.Hash}.safetensors"), weights);
        Assert.Equal(Path.Combine(directory, $"fashionvit-{Base.Hash}.json"), info);
    }

    [Fact]
    public void FineTuningOptionsDoNotChangeThePretrainingKey()
    {
        var o = new RunOptions();
        var others = new[]
        {
            o with { Method = "head" }, o with { Lr = 0.1 }, o with { Seed = 9 }, o with { TargetClasses = [7, 8] }, o with { Shift = DomainShift.Invert },
            o with { Steps = 3 }, o with { Batch = 8 }, o with { Threads = 2 }, o with { TrainNorms = true }, o with { Out = "x" },
        };
        foreach (var other in others) Assert.Equal(o.Pretrain.Hash, other.Pretrain.Hash);
        Assert.NotEqual(o.Pretrain.Hash, (o with { PretrainSeed = 1 }).Pretrain.Hash);
        Assert.NotEqual(o.Pretrain.Hash, (o with { Dim = 32, Heads = 2 }).Pretrain.Hash);
    }

    [Fact]
    public void FindReusesAWrittenCheckpointAndRejectsAMismatchedRecord()
    {
        Assert.Null(PretrainCache.Find(Base, directory));
        var (weights, info) = PretrainCache.PathsFor(Base, directory);
        using (var model = new VisionTransformer(Base.Model)) model.SaveWeights(weights);
        File.WriteAllText(info, $"{{\"pretrain\": {Base.ToCanonicalJson()}, \"source_accuracy\": 0.75}}");

        var found = PretrainCache.Find(Base, directory);
        Assert.NotNull(found);
        Assert.True(found.Reused);
        Assert.Equal(0.75, found.SourceAccuracy);
        Assert.Equal(weights, found.WeightsPath);
        using (var loaded = PretrainCache.LoadModel(found)) Assert.Equal(5, loaded.Config.Classes);

        File.WriteAllText(info, $"{{\"pretrain\": {(Base with { Seed = 3 }).ToCanonicalJson()}}}");
        var e = Assert.Throws<InvalidDataException>(() => PretrainCache.Find(Base, directory));
        Assert.Contains(info, e.Message);
    }

    [Fact]
    public void CacheDirectoryPrefersTheOptionThenTheEnvironment()
    {
        Assert.Equal("/x/cache", new RunOptions { Cache = "/x/cache" }.CacheDirectory);
        var saved = Environment.GetEnvironmentVariable("ONELORA_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("ONELORA_CACHE", "/from/env");
            Assert.Equal("/from/env", new RunOptions().CacheDirectory);
            Assert.Equal("/x/cache", new RunOptions { Cache = "/x/cache" }.CacheDirectory);
            Environment.SetEnvironmentVariable("ONELORA_CACHE", null);
            Assert.EndsWith(Path.Combine("", "onelora"), new RunOptions().CacheDirectory);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ONELORA_CACHE", saved);
        }
    }
}
