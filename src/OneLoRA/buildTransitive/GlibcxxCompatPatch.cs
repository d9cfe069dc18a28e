// OneLoRA build-time fix for TorchSharp 0.107.0's native library on distros whose libstdc++ predates GCC 13.
//
// libLibTorchSharp.so was linked with GCC 13+ headers, which reference one iostream marker symbol,
// _ZSt21ios_base_library_initv, at version GLIBCXX_3.4.32. Older libstdc++ (Debian 12: up to 3.4.30)
// lacks that version, so dlopen fails although nothing ever calls the symbol. We make that one
// reference optional, on a copy written for the build output:
//   1. .dynsym:      the symbol's binding becomes STB_WEAK;
//   2. .gnu.version: its version index becomes VER_NDX_GLOBAL (1);
//   3. .gnu.version_r: the GLIBCXX_3.4.32 requirement gets VER_FLG_WEAK.
// No byte count changes. The build writes the patched copy into obj/ once per package file (MSBuild Inputs/Outputs)
// and lets the SDK copy it to bin/ and publish/ like any other copy-local file. This file is compiled twice: inline by MSBuild (RoslynCodeTaskFactory, which
// needs C# 7.3 and the task class below) and into the tests with ONELORA_PATCHER_NO_TASK defined.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace OneLoRA.Build
{
    /// <summary>What <see cref="GlibcxxCompatPatch.Apply(byte[])"/> did to a library.</summary>
    public enum PatchOutcome
    {
        /// <summary>The three edits were made.</summary>
        Patched,
        /// <summary>The library already carried all three edits; nothing was written.</summary>
        AlreadyPatched,
        /// <summary>The library does not reference the symbol at GLIBCXX_3.4.32; nothing was written.</summary>
        NotReferenced,
    }

    /// <summary>The state of the three entries the patch touches, for diagnostics and tests.</summary>
    public struct ElfVersionState
    {
        public bool SymbolFound;
        public int SymbolBinding;        // 1 = STB_GLOBAL, 2 = STB_WEAK
        public int SymbolVersionIndex;   // .gnu.version entry (1 = global)
        public bool RequirementFound;
        public int RequirementFlags;     // vna_flags of the GLIBCXX_3.4.32 aux entry (2 = VER_FLG_WEAK)
    }

    public static class GlibcxxCompatPatch
    {
        public const string SymbolName = "_ZSt21ios_base_library_initv";
        public const string RequiredVersion = "GLIBCXX_3.4.32";

        const uint ShtDynsym = 11;
        const uint ShtGnuVersym = 0x6fffffff;
        const uint ShtGnuVerneed = 0x6ffffffe;
        const int StbWeak = 2;
        const ushort VerNdxGlobal = 1;
        const ushort VerFlgWeak = 0x2;

        /// <summary>Standard places of the system libstdc++ on x86-64/arm64 Linux distributions.</summary>
        public static readonly string[] DefaultLibStdCxxPaths =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };

        /// <summary>
        /// True when the first libstdc++ found among <paramref name="candidates"/> defines
        /// <paramref name="version"/>. False when it lacks it, or when none is found (then the patch is the
        /// safer choice: it only makes an unused reference optional).
        /// </summary>
        public static bool LibStdCxxProvides(string version, IEnumerable<string> candidates)
        {
            foreach (var path in candidates)
            {
                if (!File.Exists(path)) continue;
                return IndexOf(File.ReadAllBytes(path), Encoding.ASCII.GetBytes(version + "\0"), 0) >= 0;
            }
            return false;
        }

        /// <summary>Patches the file in place (temp file + rename, so a failure leaves it as it was).</summary>
        public static PatchOutcome Apply(string path)
        {
            var bytes = File.ReadAllBytes(path);
            var outcome = Apply(bytes);
            if (outcome != PatchOutcome.Patched) return outcome;
            var tmp = path + ".onelora-tmp";
            File.WriteAllBytes(tmp, bytes);
            File.Copy(tmp, path, true);   // File.Move with overwrite is not in netstandard2.0
            File.Delete(tmp);
            return outcome;
        }

        /// <summary>
        /// Writes a patched copy of <paramref name="source"/> to <paramref name="destination"/> (temp file + rename, so
        /// a failure leaves no half-written file); the source is never changed. A library that does not reference the
        /// symbol, or is already patched, is copied as it is.
        /// </summary>
        public static PatchOutcome CopyPatched(string source, string destination)
        {
            var bytes = File.ReadAllBytes(source);
            var outcome = Apply(bytes);
            var dir = Path.GetDirectoryName(Path.GetFullPath(destination));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var tmp = destination + ".onelora-tmp";
            File.Copy(source, tmp, true);   // keeps the file mode (the package ships it executable)
            using (var stream = new FileStream(tmp, FileMode.Open, FileAccess.Write))
                stream.Write(bytes, 0, bytes.Length);
            if (File.Exists(destination)) File.Delete(destination);
            File.Move(tmp, destination);
            return outcome;
        }

        /// <summary>Patches an ELF64 little-endian image in memory.</summary>
        public static PatchOutcome Apply(byte[] elf)
        {
            var layout = Locate(elf);
            if (layout.SymbolOffset < 0 || layout.RequirementOffset < 0) return PatchOutcome.NotReferenced;

            var state = Read(elf, layout);
            if (state.SymbolBinding == StbWeak && state.SymbolVersionIndex == VerNdxGlobal
                && (state.RequirementFlags & VerFlgWeak) != 0)
                return PatchOutcome.AlreadyPatched;

            int info = elf[layout.SymbolOffset + 4];
            elf[layout.SymbolOffset + 4] = (byte)((StbWeak << 4) | (info & 0xf));
            WriteU16(elf, layout.VersymOffset, VerNdxGlobal);
            WriteU16(elf, layout.RequirementOffset + 4, (ushort)(ReadU16(elf, layout.RequirementOffset + 4) | VerFlgWeak));
            return PatchOutcome.Patched;
        }

        /// <summary>Reads the entries the patch touches without changing anything.</summary>
        public static ElfVersionState Inspect(byte[] elf)
        {
            return Read(elf, Locate(elf));
        }

        struct Layout
        {
            public long SymbolOffset;       // file offset of the Elf64_Sym entry
            public long VersymOffset;       // file offset of its .gnu.version entry
            public long RequirementOffset;  // file offset of the Elf64_Vernaux entry
        }

        static ElfVersionState Read(byte[] elf, Layout layout)
        {
            var state = new ElfVersionState();
            if (layout.SymbolOffset >= 0)
            {
                state.SymbolFound = true;
                state.SymbolBinding = elf[layout.SymbolOffset + 4] >> 4;
                state.SymbolVersionIndex = layout.VersymOffset >= 0 ? ReadU16(elf, layout.VersymOffset) : -1;
            }
            if (layout.RequirementOffset >= 0)
            {
                state.RequirementFound = true;
                state.RequirementFlags = ReadU16(elf, layout.RequirementOffset + 4);
            }
            return state;
        }

        static Layout Locate(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

            long shoff = (long)ReadU64(elf, 0x28);
            int shentsize = ReadU16(elf, 0x3A);
            int shnum = ReadU16(elf, 0x3C);
            if (shentsize < 64 || shoff <= 0 || shoff + (long)shnum * shentsize > elf.Length)
                throw new InvalidDataException("section header table is out of bounds");

            long dynsymOff = -1, dynsymSize = 0, dynsymEnt = 24, dynstrOff = -1, versymOff = -1, verneedOff = -1, verneedStrOff = -1;
            int verneedCount = 0;
            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                uint type = ReadU32(elf, sh + 4);
                long offset = (long)ReadU64(elf, sh + 0x18);
                long size = (long)ReadU64(elf, sh + 0x20);
                uint link = ReadU32(elf, sh + 0x28);
                uint info = ReadU32(elf, sh + 0x2C);
                if (offset < 0 || offset + size > elf.Length)
                    throw new InvalidDataException("section " + i + " lies outside the file");
                if (type == ShtDynsym)
                {
                    dynsymOff = offset; dynsymSize = size;
                    long ent = (long)ReadU64(elf, sh + 0x38);
                    if (ent > 0) dynsymEnt = ent;
                    dynstrOff = SectionOffset(elf, shoff, shentsize, shnum, link);
                }
                else if (type == ShtGnuVersym) versymOff = offset;
                else if (type == ShtGnuVerneed)
                {
                    verneedOff = offset; verneedCount = (int)info;
                    verneedStrOff = SectionOffset(elf, shoff, shentsize, shnum, link);
                }
            }

            var layout = new Layout { SymbolOffset = -1, VersymOffset = -1, RequirementOffset = -1 };
            if (dynsymOff < 0 || dynstrOff < 0) return layout;

            long count = dynsymSize / dynsymEnt;
            for (long i = 0; i < count; i++)
            {
                long sym = dynsymOff + i * dynsymEnt;
                if (CStringEquals(elf, dynstrOff + ReadU32(elf, sym), SymbolName))
                {
                    layout.SymbolOffset = sym;
                    if (versymOff >= 0) layout.VersymOffset = versymOff + i * 2;
                    break;
                }
            }

            if (verneedOff >= 0 && verneedStrOff >= 0)
            {
                long vn = verneedOff;
                for (int n = 0; n < verneedCount && vn + 16 <= elf.Length; n++)
                {
                    int auxCount = ReadU16(elf, vn + 2);
                    long aux = vn + ReadU32(elf, vn + 8);
                    for (int a = 0; a < auxCount && aux + 16 <= elf.Length; a++)
                    {
                        if (CStringEquals(elf, verneedStrOff + ReadU32(elf, aux + 8), RequiredVersion))
                            layout.RequirementOffset = aux;
                        uint nextAux = ReadU32(elf, aux + 12);
                        if (nextAux == 0) break;
                        aux += nextAux;
                    }
                    uint next = ReadU32(elf, vn + 12);
                    if (next == 0) break;
                    vn += next;
                }
            }
            return layout;
        }

        static long SectionOffset(byte[] elf, long shoff, int shentsize, int shnum, uint index)
        {
            if (index >= shnum) return -1;
            return (long)ReadU64(elf, shoff + index * shentsize + 0x18);
        }

        static bool CStringEquals(byte[] elf, long offset, string value)
        {
            if (offset < 0 || offset + value.Length >= elf.Length) return false;
            for (int i = 0; i < value.Length; i++)
                if (elf[offset + i] != (byte)value[i]) return false;
            return elf[offset + value.Length] == 0;
        }

        static int IndexOf(byte[] haystack, byte[] needle, int start)
        {
            for (int i = start; i <= haystack.Length - needle.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }

        static ushort ReadU16(byte[] b, long o) { return (ushort)(b[o] | b[o + 1] << 8); }
        static uint ReadU32(byte[] b, long o) { return (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24); }
        static ulong ReadU64(byte[] b, long o) { return ReadU32(b, o) | (ulong)ReadU32(b, o + 4) << 32; }
        static void WriteU16(byte[] b, long o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
    }

#if !ONELORA_PATCHER_NO_TASK
    /// <summary>
    /// MSBuild task: writes a patched copy of each libLibTorchSharp.so in <see cref="Libraries"/> (the package's file,
    /// never changed) to its <c>PatchedPath</c> metadata. Always patches, whatever the build machine's libstdc++: the
    /// output may run elsewhere, and where libstdc++ has GLIBCXX_3.4.32 the patched reference binds exactly as before
    /// (see OneLoRA.targets).
    /// </summary>
    public class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Libraries { get; set; }

        public override bool Execute()
        {
            if (Libraries == null) return true;
            foreach (var item in Libraries)
            {
                var source = item.GetMetadata("FullPath");
                var destination = item.GetMetadata("PatchedPath");
                if (string.IsNullOrEmpty(destination))
                {
                    Log.LogError("OneLoRA: no PatchedPath for " + source + ".");
                    continue;
                }
                try
                {
                    var outcome = GlibcxxCompatPatch.CopyPatched(source, destination);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                        "OneLoRA: " + destination + ": " + outcome + " (GLIBCXX_3.4.32 made optional; source " + source + " unchanged).");
                }
                catch (Exception e)
                {
                    Log.LogWarning(null, "OLORA102", null, null, 0, 0, 0, 0,
                        "OneLoRA: could not write a patched copy of " + source + " (" + e.Message + "); copied it unpatched, so TorchSharp may fail to load where libstdc++ lacks GLIBCXX_3.4.32.");
                    try
                    {
                        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination)));
                        File.Copy(source, destination, true);
                    }
                    catch (Exception copyError)
                    {
                        Log.LogError("OneLoRA: could not copy " + source + " to " + destination + ": " + copyError.Message);
                    }
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
