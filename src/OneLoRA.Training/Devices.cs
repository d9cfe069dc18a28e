using System;
using OneLoRA.Training.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace OneLoRA.Training;

/// <summary>The device a job trains on.</summary>
public static class Devices
{
    /// <summary>
    /// Loads TorchSharp's runtime, sets the intra-op threads and returns the device; CUDA that is asked for but absent
    /// is a clear error (this build's runtime, the build switch, the alternative), not TorchSharp's.
    /// </summary>
    /// <param name="device"><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</param>
    /// <param name="threads">Intra-op threads (at least 1).</param>
    /// <param name="option">The option that gave the device, named in errors.</param>
    /// <exception cref="OptionException">The device is malformed, or CUDA was asked for and is not available.</exception>
    /// <exception cref="TorchSharpLoadException">TorchSharp's native library does not load.</exception>
    public static Device Prepare(string device, int threads, string option = "--device")
    {
        OptionChecks.Device(option, device);
        OptionChecks.Positive("--threads", threads);
        TorchRuntime.EnsureLoaded();
        torch.set_num_threads(threads);
        if (device.Equals("cpu", StringComparison.OrdinalIgnoreCase)) return CPU;
        if (!cuda.is_available())
            throw new OptionException(
                $"{option} {device}: CUDA is not available here. This build uses TorchSharp's CPU runtime; on a machine with an NVIDIA GPU " +
                "and driver, build with -p:TorchBackend=cuda (restores TorchSharp-cuda-linux), or run with --device cpu.");
        return torch.device(device);
    }
}
