using System;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using OneLoRA;
using Xunit;

namespace OneLoRA.Tests.Platform;

/// <summary>What a package consumer is told when no native runtime is referenced: the same packages at build and run time.</summary>
public sealed class TorchRuntimeAdviceTests
{
    private static readonly string[] RuntimePackages =
    [
        "libtorch-cpu-linux-x64", "libtorch-cpu-win-x64", "libtorch-cpu-osx-arm64", "TorchSharp-cpu", "TorchSharp-cuda-linux", "TorchSharp-cuda-windows",
    ];

    [Fact]
    public void Run_time_advice_names_every_runtime_package_and_no_repository_switch()
    {
        foreach (var package in RuntimePackages)
            Assert.Contains(package, TorchRuntime.AddRuntimePackage);
        Assert.DoesNotContain("TorchBackend", TorchRuntime.AddRuntimePackage);
        Assert.DoesNotContain("-p:", TorchRuntime.AddRuntimePackage);
    }

    [Fact]
    public void Build_warning_OLORA101_names_the_same_packages()
    {
        var targets = XDocument.Load(Path.Combine(RepositoryRoot(), "src", "OneLoRA", "buildTransitive", "OneLoRA.targets"));
        var warning = targets.Descendants().Single(e => e.Name.LocalName == "Warning" && (string?)e.Attribute("Code") == "OLORA101");
        var text = (string)warning.Attribute("Text")!;
        foreach (var package in RuntimePackages)
            Assert.Contains(package, text);
        Assert.DoesNotContain("TorchBackend", text);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OneLoRA.Gen.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No OneLoRA.Gen.sln above {AppContext.BaseDirectory}.");
    }
}
