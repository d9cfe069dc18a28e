using System;
using System.IO;
using System.Runtime.InteropServices;
using TorchSharp;

namespace OneLoRA;

/// <summary>Thrown when TorchSharp's native library cannot be loaded; carries the loader's real reason.</summary>
public sealed class TorchSharpLoadException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Checks once that TorchSharp's native backend loads, and explains why when it does not. The library calls it on its
/// first use of TorchSharp (attach, target selection, safetensors and Fashion-MNIST loading); an app that builds its
/// model first can call it at the start of <c>Main</c> to get the explanation before TorchSharp's own message.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadError = new(TryLoad);

    /// <summary>Loads TorchSharp's native library (CPU), or throws <see cref="TorchSharpLoadException"/> with the dlopen reason.</summary>
    public static void EnsureLoaded()
    {
        if (LoadError.Value is { } e) throw e;
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e)
        {
            return new TorchSharpLoadException(Explain(e), e);
        }
    }

    /// <summary>
    /// TorchSharp reports a failed load as a missing package reference; the real reason is what the
    /// system loader says about libLibTorchSharp.so, so ask it directly.
    /// </summary>
    internal static string Explain(Exception original)
    {
        var name = OperatingSystem.IsWindows() ? "LibTorchSharp.dll" : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        var rid = RuntimeInformation.RuntimeIdentifier;
        string[] candidates =
        [
            Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", name),
            Path.Combine(AppContext.BaseDirectory, "runtimes", OperatingSystem.IsLinux() ? "linux-x64" : rid, "native", name),
            Path.Combine(AppContext.BaseDirectory, name),
        ];
        foreach (var path in candidates)
        {
            if (!File.Exists(path)) continue;
            try
            {
                NativeLibrary.Free(NativeLibrary.Load(path));
            }
            catch (Exception e)
            {
                var hint = e.Message.Contains("GLIBCXX", StringComparison.Ordinal)
                    ? " The build-time GLIBCXX fix (OneLoRA.targets) did not run on this copy: rebuild, and do not set OneLoRAPatchLibTorchSharp=false."
                    : MissingLibTorch(e.Message) ? " " + AddRuntimePackage : "";
                return $"TorchSharp's native library failed to load from {path}: {e.Message.TrimEnd('.')}.{hint}";
            }
            return $"libLibTorchSharp loads from {path}, but TorchSharp failed to initialise: {original.Message}";
        }
        return $"TorchSharp's native library ({name}) was not found next to the application ({AppContext.BaseDirectory}). " +
               $"{AddRuntimePackage} TorchSharp said: {original.Message}";
    }

    /// <summary>What an app that lacks a native runtime must add (the same packages as build warning OLORA101).</summary>
    internal const string AddRuntimePackage =
        "The app must reference one native TorchSharp runtime package: libtorch-cpu-linux-x64 (CPU, Linux x64), " +
        "libtorch-cpu-win-x64 (CPU, Windows x64), libtorch-cpu-osx-arm64 (CPU, macOS arm64), TorchSharp-cpu (CPU, all three), " +
        "TorchSharp-cuda-linux (CUDA, Linux) or TorchSharp-cuda-windows (CUDA, Windows).";

    // libLibTorchSharp is in the managed TorchSharp package; libtorch itself comes from the runtime package.
    private static bool MissingLibTorch(string loaderMessage) =>
        (loaderMessage.Contains("libtorch", StringComparison.OrdinalIgnoreCase) || loaderMessage.Contains("libc10", StringComparison.OrdinalIgnoreCase)
         || loaderMessage.Contains("torch_cpu", StringComparison.OrdinalIgnoreCase) || loaderMessage.Contains("c10.dll", StringComparison.OrdinalIgnoreCase))
        && !loaderMessage.Contains("GLIBCXX", StringComparison.Ordinal);
}
