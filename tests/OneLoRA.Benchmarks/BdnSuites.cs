using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Benchmarks;

/// <summary>BenchmarkDotNet suites: <c>--bdn dispatch</c> (interceptor and hook cost per call).</summary>
public static class BdnSuites
{
    public static int Run(string suite, string[] args)
    {
        var rest = args.SkipWhile(a => a != "--bdn").Skip(2).ToArray();
        switch (suite)
        {
            case "dispatch":
                // In process: BenchmarkDotNet's default builds a separate project per run, which times out on a loaded machine.
                // A job given on the command line (e.g. `--inProcess --job short`) replaces the default in-process job
                // instead of running after it (both together took 9 min on the 2-core machine).
                var config = rest.Contains("--job") || rest.Contains("-j")
                    ? (IConfig)DefaultConfig.Instance
                    : DefaultConfig.Instance.AddJob(Job.Default.WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance));
                BenchmarkRunner.Run<DispatchBenchmarks>(config, rest);
                return 0;
            default:
                Console.Error.WriteLine($"--bdn: '{suite}' is not a suite (dispatch).");
                return 2;
        }
    }
}

/// <summary>A one-layer [Peft] module whose calls the generator intercepts (forward) or the attach hook adapts (call).</summary>
[Peft(Method.OneLoRA)]
public sealed partial class TinyPeftModule : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc = nn.Linear(4, 4);

    public TinyPeftModule() : base(nameof(TinyPeftModule)) => RegisterComponents();

    public Linear Layer => fc;

    public override Tensor forward(Tensor x) => fc.forward(x);

    /// <summary>The same layer through <c>call</c>, which runs the forward hook installed at attach.</summary>
    public Tensor ViaCall(Tensor x) => fc.call(x);
}

/// <summary>
/// Cost of an intercepted <c>layer.forward(x)</c> and of <c>layer.call(x)</c> through the hook, on a [1, 4] tensor,
/// against the direct call on a plain frozen Linear: after merge (the adapter bypassed: pure dispatch) and unmerged.
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private Linear plain = null!;
    private TinyPeftModule merged = null!, unmerged = null!;
    private Tensor x = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(1);
        // Frozen like the adapted layers' base weights (attach freezes them): otherwise the baseline alone records an
        // autograd node per call and looks slower than the intercepted call.
        plain = nn.Linear(4, 4);
        foreach (var p in plain.parameters()) p.requires_grad = false;
        merged = new TinyPeftModule();
        merged.AttachAdapters();
        merged.MergeAdapters();
        unmerged = new TinyPeftModule();
        unmerged.AttachAdapters();
        x = ones(1, 4);
    }

    [Benchmark(Baseline = true)]
    public void Direct() { using var y = plain.forward(x); }

    [Benchmark]
    public void DirectCall() { using var y = plain.call(x); }

    [Benchmark]
    public void InterceptedForwardMerged() { using var y = merged.forward(x); }

    [Benchmark]
    public void HookCallMerged() { using var y = merged.ViaCall(x); }

    [Benchmark]
    public void InterceptedForwardUnmerged() { using var y = unmerged.forward(x); }

    [Benchmark]
    public void HookCallUnmerged() { using var y = unmerged.ViaCall(x); }
}
