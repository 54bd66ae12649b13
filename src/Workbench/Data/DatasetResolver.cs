namespace Workbench.Data;

/// <summary>A dataset's files were not found (or not all of them); the message says where we looked and how to get them.</summary>
public sealed class DatasetNotFoundException(string message) : Exception(message);

/// <summary>
/// Finds a dataset's folder: <c>data/&lt;name&gt;/</c> (in the current folder or the repository root), then
/// <c>$WORKBENCH_DATA/&lt;name&gt;/</c>, then Debian's <c>/usr/share/datasets/&lt;name&gt;/</c>, then (in <see cref="Locate"/>)
/// a download from the dataset's official source (<see cref="DatasetDownloader"/>). A folder counts when every
/// required file is there, gzipped (<c>.gz</c>) or not.
/// </summary>
public static class DatasetResolver
{
    public const string EnvironmentVariable = "WORKBENCH_DATA";

    /// <summary>The folders searched for <paramref name="name"/>, in order.</summary>
    public static IReadOnlyList<string> SearchPath(string name)
    {
        var dirs = new List<string> { Path.Combine(Directory.GetCurrentDirectory(), "data", name) };
        var root = FindRepositoryRoot();
        if (root is not null) dirs.Add(Path.Combine(root, "data", name));
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
            foreach (var e in env.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                dirs.Add(Path.Combine(e, name));
        dirs.Add(Path.Combine("/usr/share/datasets", name));
        return dirs.Select(Path.GetFullPath).Distinct().ToList();
    }

    /// <summary>The first folder that holds every file in <paramref name="files"/>, or null.</summary>
    public static string? TryLocate(string name, IEnumerable<string> files)
    {
        var required = files.ToList();
        return SearchPath(name).FirstOrDefault(d => required.All(f => FindFile(d, f) is not null));
    }

    /// <summary>The path of <paramref name="file"/> in <paramref name="folder"/>, as is or with <c>.gz</c>; null if neither.</summary>
    public static string? FindFile(string folder, string file)
    {
        var plain = Path.Combine(folder, file);
        if (File.Exists(plain)) return plain;
        return File.Exists(plain + ".gz") ? plain + ".gz" : null;
    }

    /// <summary>
    /// Like <see cref="TryLocate"/>, and when nothing is found and <see cref="DatasetDownloader.Catalog"/> knows
    /// <paramref name="name"/>, downloads it with <paramref name="downloader"/> (default: <see
    /// cref="DatasetDownloader.FromEnvironment"/>, i.e. unless <c>WORKBENCH_DOWNLOAD=0</c>). A dataset that is still
    /// missing throws an error listing where we looked and how to get it.
    /// </summary>
    public static string Locate(string name, IEnumerable<string> files, string? howToGet = null, DatasetDownloader? downloader = null)
    {
        var required = files.ToList();
        var found = TryLocate(name, required);
        if (found is not null) return found;
        string downloadNote;
        if (DatasetDownloader.Catalog.TryGetValue(name, out var source))
        {
            downloader ??= DatasetDownloader.FromEnvironment();
            if (downloader is not null)
            {
                var folder = downloader.Download(source); // throws DatasetDownloadException naming the URL and file
                if (required.All(f => FindFile(folder, f) is not null)) return folder;
                downloadNote = $"Downloaded {name} into {folder}, but it still lacks some of the files.\n";
            }
            else
                downloadNote = $"Download disabled ({DatasetDownloader.EnableVariable}={Environment.GetEnvironmentVariable(DatasetDownloader.EnableVariable)}); " +
                               $"unset it to fetch {string.Join(", ", source.Files.Select(f => source.BaseUrls[0] + f.FileName))}.\n";
            howToGet ??= source.HowToGet;
        }
        else downloadNote = "";
        throw new DatasetNotFoundException(
            $"Dataset '{name}' not found: no folder holds all of [{string.Join(", ", required)}] (plain or .gz). Looked in:\n  " +
            string.Join("\n  ", SearchPath(name)) + "\n" + downloadNote +
            (howToGet ?? $"Put the files in data/{name}/ or set {EnvironmentVariable} to a folder that holds {name}/."));
    }

    /// <summary>The folder holding Workbench.sln, walking up from the current folder and then from this assembly's folder.</summary>
    public static string? FindRepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Workbench.sln"))) return d.FullName;
        }
        return null;
    }
}
