using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using OneLoRA.Build;
using Xunit;

namespace OneLoRA.Tests.Platform;

/// <summary>The build-time ELF fix, on copies of the real TorchSharp 0.107.0 native library.</summary>
public sealed class GlibcxxCompatPatchTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("onelora-elf-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The library exactly as shipped in the NuGet package (the build output copy is already patched).</summary>
    private static string PristineLibrary()
    {
        var root = typeof(GlibcxxCompatPatchTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NuGetPackageRoot").Value!;
        var path = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"pristine TorchSharp native library not found at {path}");
        return path;
    }

    private string CopyOfPristine()
    {
        var copy = Path.Combine(dir, "libLibTorchSharp.so");
        File.Copy(PristineLibrary(), copy, overwrite: true);
        return copy;
    }

    /// <summary>readelf (binutils) is the independent reader of the version tables.</summary>
    private static string ReadElf(string args, string path)
    {
        var psi = new ProcessStartInfo("readelf", $"{args} {path}") { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output;
    }

    [Fact]
    public void Pristine_library_requires_the_version_strongly()
    {
        var state = GlibcxxCompatPatch.Inspect(File.ReadAllBytes(PristineLibrary()));
        Assert.True(state.SymbolFound);
        Assert.Equal(1, state.SymbolBinding);                 // STB_GLOBAL
        Assert.NotEqual(1, state.SymbolVersionIndex);         // bound to GLIBCXX_3.4.32's index
        Assert.True(state.RequirementFound);
        Assert.Equal(0, state.RequirementFlags & 0x2);        // not weak
        Assert.Matches(@"Name: GLIBCXX_3\.4\.32\s+Flags: none", ReadElf("-V", PristineLibrary()));
    }

    [Fact]
    public void Patch_makes_the_three_edits_and_nothing_else()
    {
        var path = CopyOfPristine();
        var before = File.ReadAllBytes(path);

        Assert.Equal(PatchOutcome.Patched, GlibcxxCompatPatch.Apply(path));

        var after = File.ReadAllBytes(path);
        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        Assert.InRange(changed.Count, 3, 4);                  // st_info, 1–2 versym bytes, vna_flags

        var state = GlibcxxCompatPatch.Inspect(after);
        Assert.Equal(2, state.SymbolBinding);                 // STB_WEAK
        Assert.Equal(1, state.SymbolVersionIndex);            // VER_NDX_GLOBAL
        Assert.Equal(0x2, state.RequirementFlags & 0x2);      // VER_FLG_WEAK

        // Independent reading by binutils.
        Assert.Matches(@"Name: GLIBCXX_3\.4\.32\s+Flags: WEAK", ReadElf("-V", path));
        var sym = ReadElf("-W --dyn-syms", path).Split('\n').Single(l => l.Contains(GlibcxxCompatPatch.SymbolName));
        Assert.Contains(" WEAK ", sym);
        Assert.DoesNotContain("GLIBCXX_3.4.32", sym);
    }

    [Fact]
    public void Patch_is_idempotent()
    {
        var path = CopyOfPristine();
        Assert.Equal(PatchOutcome.Patched, GlibcxxCompatPatch.Apply(path));
        var once = File.ReadAllBytes(path);
        var stamp = File.GetLastWriteTimeUtc(path);

        Assert.Equal(PatchOutcome.AlreadyPatched, GlibcxxCompatPatch.Apply(path));
        Assert.Equal(once, File.ReadAllBytes(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));  // nothing rewritten
    }

    [Fact]
    public void Library_without_the_reference_is_left_alone()
    {
        // libc10 (from libtorch) links libstdc++ but not the GCC 13 marker symbol.
        var c10 = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libc10.so");
        Assert.True(File.Exists(c10), c10);
        var copy = Path.Combine(dir, "libc10.so");
        File.Copy(c10, copy);
        var before = File.ReadAllBytes(copy);

        Assert.Equal(PatchOutcome.NotReferenced, GlibcxxCompatPatch.Apply(copy));
        Assert.Equal(before, File.ReadAllBytes(copy));
    }

    [Fact]
    public void Non_elf_input_is_rejected_with_a_reason()
    {
        var e = Assert.Throws<InvalidDataException>(() => GlibcxxCompatPatch.Apply(Encoding.ASCII.GetBytes(new string('x', 100))));
        Assert.Contains("not an ELF file", e.Message);
    }

    [Fact]
    public void System_check_reads_the_first_libstdcxx_found()
    {
        var has = Path.Combine(dir, "has.so");
        var lacks = Path.Combine(dir, "lacks.so");
        File.WriteAllBytes(has, Encoding.ASCII.GetBytes("junk\0GLIBCXX_3.4.31\0GLIBCXX_3.4.32\0more"));
        File.WriteAllBytes(lacks, Encoding.ASCII.GetBytes("junk\0GLIBCXX_3.4.30\0GLIBCXX_3.4.320-lookalike"));

        Assert.True(GlibcxxCompatPatch.LibStdCxxProvides("GLIBCXX_3.4.32", [Path.Combine(dir, "missing.so"), has]));
        Assert.False(GlibcxxCompatPatch.LibStdCxxProvides("GLIBCXX_3.4.32", [lacks, has]));
        Assert.False(GlibcxxCompatPatch.LibStdCxxProvides("GLIBCXX_3.4.32", [Path.Combine(dir, "missing.so")]));
    }

    [Fact]
    public void Build_output_copy_is_patched_whatever_this_system_has()
    {
        // The build patches every linux-x64 output (it may run on another machine); readelf checks it independently.
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.Contains(ReadElf("-W -V", output).Split('\n'), l => l.Contains("Name: GLIBCXX_3.4.32") && l.Contains("Flags: WEAK"));
        var sym = ReadElf("-W --dyn-syms", output).Split('\n').Single(l => l.Contains(GlibcxxCompatPatch.SymbolName));
        Assert.Contains(" WEAK ", sym);
    }

    [Fact]
    public void Copy_patched_writes_a_patched_copy_and_leaves_the_source_alone()
    {
        var source = CopyOfPristine();
        var original = File.ReadAllBytes(source);
        var destination = Path.Combine(dir, "obj", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

        Assert.Equal(PatchOutcome.Patched, GlibcxxCompatPatch.CopyPatched(source, destination));
        Assert.Equal(original, File.ReadAllBytes(source));
        var patched = File.ReadAllBytes(destination);
        Assert.Equal(original.Length, patched.Length);
        Assert.Equal(3, Enumerable.Range(0, original.Length).Count(i => original[i] != patched[i]));   // st_info, versym low byte, vna_flags
        Assert.Contains(ReadElf("-W -V", destination).Split('\n'), l => l.Contains("Name: GLIBCXX_3.4.32") && l.Contains("Flags: WEAK"));
        Assert.False(File.Exists(destination + ".onelora-tmp"));

        // Copying the patched copy again changes nothing.
        var again = Path.Combine(dir, "again.so");
        Assert.Equal(PatchOutcome.AlreadyPatched, GlibcxxCompatPatch.CopyPatched(destination, again));
        Assert.Equal(patched, File.ReadAllBytes(again));
    }
}
