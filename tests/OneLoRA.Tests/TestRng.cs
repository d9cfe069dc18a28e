using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Tests;

/// <summary>
/// Per-test random numbers. xUnit runs test classes in parallel, so the global RNG (seeding it per test, and
/// every factory or layer constructor that draws from it) gives a test different numbers from run to run; tests draw
/// from a <see cref="Generator"/> of their own instead.
/// </summary>
internal static class TestRng
{
    /// <summary>A CPU generator seeded with <paramref name="seed"/>.</summary>
    public static Generator Create(long seed) => new(unchecked((ulong)seed), device: CPU);

    /// <summary>
    /// Re-initialises every parameter the layer constructors drew from the global RNG: each Linear's weight and
    /// bias as TorchSharp's default init, U(±1/√in_features), from <paramref name="generator"/>. Norms keep their
    /// constant ones/zeros; any other module with parameters of its own is refused rather than left random.
    /// </summary>
    public static T Init<T>(this T module, Generator generator) where T : nn.Module
    {
        using var _ = no_grad();
        InitOne(module, generator);
        foreach (var (_, child) in module.named_modules()) InitOne(child, generator);
        return module;
    }

    /// <summary><see cref="Init{T}(T, Generator)"/> with a fresh generator seeded with <paramref name="seed"/>.</summary>
    public static T Init<T>(this T module, long seed) where T : nn.Module
    {
        using var g = Create(seed);
        return module.Init(g);
    }

    private static void InitOne(nn.Module module, Generator generator)
    {
        switch (module)
        {
            case Linear linear:
                var bound = 1 / Math.Sqrt(linear.in_features);
                linear.weight!.uniform_(-bound, bound, generator);
                linear.bias?.uniform_(-bound, bound, generator);
                break;
            case LayerNorm:
                break;
            default:
                foreach (var (name, _) in module.named_parameters(recurse: false))
                    throw new NotSupportedException($"TestRng cannot initialise '{name}' of {module.GetType().Name}; add a rule for it.");
                break;
        }
    }
}
