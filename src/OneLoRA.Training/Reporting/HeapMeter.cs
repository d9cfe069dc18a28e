using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace OneLoRA.Training.Reporting;

/// <summary>
/// Bytes of native heap in use, from glibc's <c>mallinfo2</c>: <c>uordblks</c> (allocated from the arena) plus
/// <c>hblkhd</c> (allocated by mmap). libtorch's CPU allocator takes tensor storage from malloc, so the in-use delta
/// around a forward pass is the bytes the autograd graph and the activations hold: tensor bytes, not RSS.
/// <para>
/// <see cref="Configure"/> makes the figure complete and stable, and must run before libtorch allocates: one arena
/// (<c>M_ARENA_MAX = 1</c>; mallinfo2 reports the main arena only) and a fixed mmap threshold of 64 KiB (glibc would
/// otherwise raise it dynamically and move large blocks between the two counters). Both slow allocation down, so
/// the benchmarks measure memory in their own mode, never while timing. The training jobs set only the one arena
/// (<c>MALLOC_ARENA_MAX=1</c> in the environment of <c>compare</c>'s children): the sum of the two counters is the
/// in-use total whichever counter a block lands in, so the dynamic threshold changes no figure there.
/// </para>
/// </summary>
public static class HeapMeter
{
    private const int MmapThreshold = -3, ArenaMax = -8;

    [StructLayout(LayoutKind.Sequential)]
    private struct Mallinfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern Mallinfo2 NativeMallinfo2();

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int NativeMallopt(int param, int value);

    /// <summary>True on Linux with glibc ≥ 2.33 (mallinfo2); elsewhere memory mode explains and exits.</summary>
    public static bool Available
    {
        get
        {
            if (!OperatingSystem.IsLinux()) return false;
            try { NativeMallinfo2(); return true; }
            catch (EntryPointNotFoundException) { return false; }
            catch (DllNotFoundException) { return false; }
        }
    }

    /// <summary>One arena and a fixed 64 KiB mmap threshold (see the class remarks).</summary>
    public static void Configure()
    {
        if (NativeMallopt(ArenaMax, 1) != 1 || NativeMallopt(MmapThreshold, 64 * 1024) != 1)
            throw new InvalidOperationException("mallopt refused M_ARENA_MAX / M_MMAP_THRESHOLD.");
    }

    /// <summary>Native heap bytes in use now.</summary>
    public static long InUse()
    {
        var m = NativeMallinfo2();
        return (long)m.uordblks + (long)m.hblkhd;
    }

    /// <summary>
    /// Samples <see cref="InUse"/> on a background thread while <paramref name="body"/> runs and returns the highest
    /// value seen (a lower bound of the true peak; the sampler runs continuously, so short-lived peaks inside one
    /// kernel can be missed, not those between kernels).
    /// </summary>
    public static long PeakDuring(Action body)
    {
        long peak = InUse();
        var done = 0;
        var sampler = new Thread(() =>
        {
            while (Volatile.Read(ref done) == 0)
            {
                var now = InUse();
                if (now > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, now);
                Thread.SpinWait(200);
            }
        }) { IsBackground = true };
        sampler.Start();
        try { body(); }
        finally
        {
            Volatile.Write(ref done, 1);
            sampler.Join();
        }
        return Math.Max(peak, InUse());
    }
}
