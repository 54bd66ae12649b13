// Marks one symbol-version requirement of an ELF shared object as weak (VER_FLG_WEAK in
// Elf64_Vernaux.vna_flags), so the dynamic loader accepts the library on a host whose
// libstdc++ lacks that version. Used by the build (an MSBuild inline task, see
// build/LibTorchSharpPatch.targets) and by the tests. See environment.md for the story.
//
// Written against netstandard2.0 (what RoslynCodeTaskFactory compiles with).
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (with the task class) and by the
// test project (WORKBENCH_TESTS defined, without the MSBuild dependency).
#nullable enable
using System;
using System.IO;
using System.Text;

namespace Workbench.Build
{
    public enum ElfPatchResult { Patched, AlreadyWeak, VersionNotNeeded }

    public static class ElfVersionPatch
    {
        const uint ShtGnuVerneed = 0x6ffffffe;
        const ushort VerFlgWeak = 0x2;

        /// <summary>True when the file's bytes contain the version string (e.g. a libstdc++ that defines it).</summary>
        public static bool FileMentions(string path, string version)
        {
            var needle = Encoding.ASCII.GetBytes(version + "\0");
            var bytes = File.ReadAllBytes(path);
            for (int i = 0; i + needle.Length <= bytes.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && bytes[i + j] == needle[j]) j++;
                if (j == needle.Length) return true;
            }
            return false;
        }

        /// <summary>Finds the host's libstdc++.so.6 in the usual multiarch and lib64 folders; null if none.</summary>
        public static string? FindHostLibStdCxx()
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            };
            foreach (var c in candidates) if (File.Exists(c)) return c;
            return null;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on every Vernaux entry named <paramref name="version"/>. Idempotent; the file is
        /// rewritten through a temporary copy and a rename, so a failure never leaves it half-written.
        /// </summary>
        public static ElfPatchResult MarkVersionWeak(string path, string version)
        {
            var b = File.ReadAllBytes(path);
            var offsets = FindVernauxFlagOffsets(b, version, path);
            if (offsets.Length == 0) return ElfPatchResult.VersionNotNeeded;
            bool changed = false;
            foreach (var off in offsets)
            {
                ushort flags = BitConverter.ToUInt16(b, off);
                if ((flags & VerFlgWeak) != 0) continue;
                ushort weak = (ushort)(flags | VerFlgWeak);
                b[off] = (byte)(weak & 0xff);
                b[off + 1] = (byte)(weak >> 8);
                changed = true;
            }
            if (!changed) return ElfPatchResult.AlreadyWeak;
            var tmp = path + ".weakpatch.tmp";
            File.WriteAllBytes(tmp, b);
            File.Replace(tmp, path, null); // rename(2) on Unix: atomic
            return ElfPatchResult.Patched;
        }

        /// <summary>True when every Vernaux entry named <paramref name="version"/> is weak (or none exists).</summary>
        public static bool IsWeakOrAbsent(string path, string version)
        {
            var b = File.ReadAllBytes(path);
            foreach (var off in FindVernauxFlagOffsets(b, version, path))
                if ((BitConverter.ToUInt16(b, off) & VerFlgWeak) == 0) return false;
            return true;
        }

        /// <summary>File offsets of vna_flags of the Vernaux entries named <paramref name="version"/>.</summary>
        public static int[] FindVernauxFlagOffsets(byte[] b, string version, string pathForErrors)
        {
            // ELF64 little-endian header (System V ABI, gABI 4.1).
            if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
                throw new InvalidDataException($"{pathForErrors}: not an ELF file");
            if (b[4] != 2 || b[5] != 1)
                throw new InvalidDataException($"{pathForErrors}: only 64-bit little-endian ELF is supported");
            long shoff = BitConverter.ToInt64(b, 0x28);
            int shentsize = BitConverter.ToUInt16(b, 0x3A);
            int shnum = BitConverter.ToUInt16(b, 0x3C);
            if (shoff <= 0 || shoff + (long)shentsize * shnum > b.Length)
                throw new InvalidDataException($"{pathForErrors}: section header table out of range");

            var result = new System.Collections.Generic.List<int>();
            for (int i = 0; i < shnum; i++)
            {
                int sh = checked((int)(shoff + (long)i * shentsize));
                uint type = BitConverter.ToUInt32(b, sh + 4);
                if (type != ShtGnuVerneed) continue;
                long off = BitConverter.ToInt64(b, sh + 0x18);
                int link = (int)BitConverter.ToUInt32(b, sh + 0x28);
                int entries = (int)BitConverter.ToUInt32(b, sh + 0x2C); // sh_info = number of Verneed entries
                int strSh = checked((int)(shoff + (long)link * shentsize));
                long strOff = BitConverter.ToInt64(b, strSh + 0x18);

                long vn = off;
                for (int n = 0; n < entries; n++)
                {
                    int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                    long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                    for (int a = 0; a < cnt; a++)
                    {
                        uint name = BitConverter.ToUInt32(b, (int)aux + 8);
                        if (ReadCString(b, strOff + name) == version) result.Add((int)aux + 4); // vna_flags
                        uint next = BitConverter.ToUInt32(b, (int)aux + 12);
                        if (next == 0) break;
                        aux += next;
                    }
                    uint vnNext = BitConverter.ToUInt32(b, (int)vn + 12);
                    if (vnNext == 0) break;
                    vn += vnNext;
                }
            }
            return result.ToArray();
        }

        static string ReadCString(byte[] b, long start)
        {
            int s = checked((int)start), e = s;
            while (e < b.Length && b[e] != 0) e++;
            return Encoding.ASCII.GetString(b, s, e - s);
        }
    }

#if !WORKBENCH_TESTS
    /// <summary>MSBuild task: patches each existing file in Files when the host libstdc++ lacks Version.</summary>
    public class WeakenElfVersion : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string[] Files { get; set; } = Array.Empty<string>();
        [Microsoft.Build.Framework.Required] public string Version { get; set; } = "";

        public override bool Execute()
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return true;
            var host = ElfVersionPatch.FindHostLibStdCxx();
            if (host != null && ElfVersionPatch.FileMentions(host, Version))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"{host} defines {Version}: no patch needed");
                return true;
            }
            foreach (var f in Files)
            {
                if (!File.Exists(f)) continue;
                try
                {
                    var r = ElfVersionPatch.MarkVersionWeak(f, Version);
                    if (r == ElfPatchResult.Patched)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                            $"Workbench: marked {Version} weak in {f} (host libstdc++ lacks it; see environment.md)");
                }
                catch (Exception e)
                {
                    Log.LogError($"Workbench: could not patch {f}: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
