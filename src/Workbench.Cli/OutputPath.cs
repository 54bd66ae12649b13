namespace Workbench.Cli;

/// <summary>Checks an output path before any work: a file standing where a folder of the path must be is named with
/// the option, instead of .NET's "Could not find a part of the path" after the work is done.</summary>
public static class OutputPath
{
    /// <summary>Throws <see cref="UsageException"/> when a component of <paramref name="path"/> above its last (or the path
    /// itself, with <paramref name="isFolder"/>) is an existing file.</summary>
    public static void Check(string option, string path, bool isFolder = false)
    {
        var full = Path.GetFullPath(path);
        if (isFolder && File.Exists(full))
            throw new UsageException($"{option} {path}: {full} is a file, not a folder.");
        for (var dir = Path.GetDirectoryName(full); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(dir)) return;
            if (File.Exists(dir)) throw new UsageException($"{option} {path}: {dir} is a file, not a folder.");
        }
    }
}
