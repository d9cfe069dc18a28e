using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using OneLoRA.Training.Cli;
using Shared = OneLoRA.Training.Cli.AdapterConfigReader;

namespace FashionVit.Cli;

/// <summary>
/// <c>evaluate --adapter DIR</c>: the method and its options come from DIR's <c>adapter_config.json</c> through the
/// shared <see cref="Shared"/> (OneLoRA.Training), so the user need not repeat them. An option also written on the
/// command line must agree with the file.
/// </summary>
public static class AdapterConfigOptions
{
    /// <summary><paramref name="options"/> with the method and method options that <paramref name="adapterDirectory"/> states.</summary>
    /// <param name="options">The bound command line.</param>
    /// <param name="adapterDirectory">The adapter directory.</param>
    /// <param name="set">The command's options.</param>
    /// <param name="given">True for an option written on the command line.</param>
    /// <exception cref="FileNotFoundException">The directory has no adapter_config.json.</exception>
    /// <exception cref="OptionException">A given option disagrees with the file (names the option, the file's and the given value).</exception>
    public static RunOptions Apply(RunOptions options, string adapterDirectory, RunOptionSet set, Func<Option, bool> given)
    {
        var stated = Shared.Apply(Settings(options), adapterDirectory, name => set.All.Any(o => o.Name == name && given(o)), RunOptions.IsAttentionProjection);
        return (options with
        {
            Method = stated.IsHeadOnly ? RunOptions.HeadOnly : stated.Method, Rank = stated.Rank, Alpha = stated.Alpha, Dropout = stated.Dropout,
            TrainNorms = stated.TrainNorms, TrainBiases = stated.TrainBiases, TrainScale = stated.TrainScale, AttentionOnly = stated.AttentionOnly,
            RandomCompression = stated.RandomCompression, CompressionSeed = stated.CompressionSeed, MoRAType = stated.MoRAType,
            MoRARankRule = stated.MoRARankRule, Seed = stated.Seed,
        }).Validate();
    }

    /// <summary>True when the file's <c>target_modules</c> lists exactly this job's attention projections (an attention-only run).</summary>
    public static bool TargetsAttentionOnly(string configPath) => Shared.TargetsAttentionOnly(configPath, RunOptions.IsAttentionProjection);

    private static AdapterMethodSettings Settings(RunOptions o) => new()
    {
        Method = o.IsHeadOnly ? AdapterMethodSettings.HeadOnlyName : o.Method, Rank = o.Rank, Alpha = o.Alpha, Dropout = o.Dropout,
        TrainNorms = o.TrainNorms, TrainBiases = o.TrainBiases, TrainScale = o.TrainScale, AttentionOnly = o.AttentionOnly,
        RandomCompression = o.RandomCompression, CompressionSeed = o.CompressionSeed, MoRAType = o.MoRAType,
        MoRARankRule = o.MoRARankRule, Seed = o.Seed,
    };
}
