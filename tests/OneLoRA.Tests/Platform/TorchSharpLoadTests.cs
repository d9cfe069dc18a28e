using OneLoRA;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Platform;

public sealed class TorchSharpLoadTests
{
    [Fact]
    public void TorchSharp_runs_forward_and_backward_in_the_test_process()
    {
        TorchRuntime.EnsureLoaded();
        using var x = tensor(new[] { 1.0, 2.0, 3.0 }, requires_grad: true);
        using var y = (x * x).sum();
        y.backward();
        Assert.Equal(14.0, y.item<double>());
        Assert.Equal(new[] { 2.0, 4.0, 6.0 }, x.grad!.data<double>().ToArray());
    }

    [Fact]
    public void Load_explanation_names_the_library_it_probed()
    {
        // The library loads here, so the explanation must say where it found it rather than blame a missing package.
        var message = TorchRuntime.Explain(new System.Exception("simulated"));
        Assert.Contains("libLibTorchSharp.so", message);
        Assert.Contains("simulated", message);
    }
}
