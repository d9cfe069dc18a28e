using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Benchmarks;

/// <summary>
/// Re-initialises a model's Linear and Embedding weights from a generator of its own (nn.Linear's U(±1/√in) and
/// BERT's N(0, 0.02)), so every variant of a run starts from the same weights without touching the global RNG.
/// </summary>
public static class SeededInit
{
    public static T Apply<T>(T model, ulong seed) where T : nn.Module
    {
        using var generator = new Generator(seed, device: CPU);
        using var noGrad = no_grad();
        foreach (var (_, module) in model.named_modules())
            switch (module)
            {
                case Linear linear:
                    var bound = 1.0 / Math.Sqrt(linear.in_features);
                    linear.weight!.copy_((rand(linear.weight.shape, generator: generator) * 2 - 1) * bound);
                    linear.bias?.copy_((rand(linear.bias.shape, generator: generator) * 2 - 1) * bound);
                    break;
                case Embedding embedding:
                    embedding.weight!.copy_(randn(embedding.weight.shape, generator: generator) * 0.02);
                    break;
            }
        return model;
    }

    public static Tensor Noise(long[] shape, ulong seed)
    {
        using var generator = new Generator(seed, device: CPU);
        return randn(shape, generator: generator);
    }
}
