using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;

namespace Workbench.Data;

/// <summary>
/// One file of a dataset as its publisher serves it. <paramref name="Checksum"/> is the published MD5 (32 hex digits)
/// or SHA-256 (64 hex digits); the length says which. <paramref name="Extract"/> marks a .tar.gz archive whose
/// regular files are unpacked flat into the dataset's folder (the archive is deleted afterwards).
/// </summary>
public sealed record RemoteFile(string FileName, string Checksum, bool Extract = false);

/// <summary>
/// Where a dataset comes from: <paramref name="BaseUrls"/> are tried in order (a file's URL is base + file name);
/// <paramref name="HowToGet"/> is the advice printed when every mirror fails.
/// </summary>
public sealed record DatasetSource(string Name, IReadOnlyList<string> BaseUrls, IReadOnlyList<RemoteFile> Files,
    string Homepage, string Licence, string HowToGet);

/// <summary>A download failed or its checksum did not match; the message names the URL, the file and the other ways to get it.</summary>
public sealed class DatasetDownloadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The resolver's last step: fetches a known dataset from its official source into <c>data/&lt;name&gt;/</c> (or
/// <c>$WORKBENCH_DATA/&lt;name&gt;/</c> when that is set), showing progress on stderr, checking each file against its
/// published MD5/SHA-256, and writing atomically (<c>file.part</c>, verify, rename), so a failed or corrupt download
/// leaves nothing that looks like data behind. Downloads happen automatically unless <c>WORKBENCH_DOWNLOAD=0</c>;
/// <c>WORKBENCH_DOWNLOAD_MIRROR</c> replaces every source's base URLs by one (a local mirror).
/// </summary>
public sealed class DatasetDownloader
{
    /// <summary>Set to 0 / false / no / off to never download.</summary>
    public const string EnableVariable = "WORKBENCH_DOWNLOAD";

    /// <summary>A base URL that replaces the catalog's (files are fetched as mirror + file name).</summary>
    public const string MirrorVariable = "WORKBENCH_DOWNLOAD_MIRROR";

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DatasetSource> Sources = new(StringComparer.OrdinalIgnoreCase);
    static readonly HttpClient SharedClient = new(new SocketsHttpHandler
    {
        AutomaticDecompression = DecompressionMethods.None,
        // an abandoned (stalled) response is closed at once rather than drained for up to 2 s
        MaxResponseDrainSize = 0,
        ResponseDrainTimeout = TimeSpan.Zero,
    })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    static DatasetDownloader()
    {
        // Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): the files and MD5s published in the dataset's README.
        Register(new DatasetSource("fashion-mnist",
            new[] { "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" },
            new[]
            {
                new RemoteFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                new RemoteFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                new RemoteFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                new RemoteFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
            },
            "https://github.com/zalandoresearch/fashion-mnist", "MIT",
            "Install Debian's package (apt-get install dataset-fashion-mnist, files in /usr/share/datasets/fashion-mnist/) " +
            "or download the four .gz files from https://github.com/zalandoresearch/fashion-mnist (folder data/fashion) " +
            "into data/fashion-mnist/."));

        // MNIST (LeCun, Cortes & Burges): the mirrors and MD5s torchvision uses (yann.lecun.com often refuses downloads).
        Register(new DatasetSource("mnist",
            new[] { "https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/" },
            new[]
            {
                new RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                new RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                new RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                new RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
            },
            "http://yann.lecun.com/exdb/mnist/", "copyright Yann LeCun and Corinna Cortes; redistributed under CC BY-SA 3.0 (as the Keras documentation states)",
            "Copy the four .gz idx files (train-images-idx3-ubyte.gz, …) from any MNIST mirror into data/mnist/."));

        // CIFAR-10 (Krizhevsky 2009), the binary version, with the MD5 on https://www.cs.toronto.edu/~kriz/cifar.html.
        Register(new DatasetSource("cifar-10",
            new[] { "https://www.cs.toronto.edu/~kriz/" },
            new[] { new RemoteFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", Extract: true) },
            "https://www.cs.toronto.edu/~kriz/cifar.html", "no licence stated; cite Krizhevsky 2009",
            "Download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it into data/cifar-10/ " +
            "(data_batch_1.bin … data_batch_5.bin, test_batch.bin, either directly there or in cifar-10-batches-bin/)."));
    }

    /// <summary>The datasets we know how to download, by name.</summary>
    public static IReadOnlyDictionary<string, DatasetSource> Catalog => Sources;

    /// <summary>Adds (or replaces) a downloadable dataset.</summary>
    public static void Register(DatasetSource source) => Sources[source.Name] = source;

    /// <summary>False when <c>WORKBENCH_DOWNLOAD</c> is 0, false, no or off.</summary>
    public static bool EnabledByEnvironment =>
        Environment.GetEnvironmentVariable(EnableVariable)?.Trim().ToLowerInvariant() is not ("0" or "false" or "no" or "off");

    /// <summary>The downloader the resolver uses: null when downloads are disabled by the environment.</summary>
    public static DatasetDownloader? FromEnvironment() =>
        EnabledByEnvironment ? new DatasetDownloader(mirror: Environment.GetEnvironmentVariable(MirrorVariable)) : null;

    /// <summary>
    /// <paramref name="root"/>: the folder that receives <c>&lt;name&gt;/</c> (default: the first <c>$WORKBENCH_DATA</c>
    /// entry, else <c>data/</c> in the repository root or the current folder). <paramref name="mirror"/>: a base URL used
    /// instead of the catalog's. <paramref name="progress"/>: where progress goes (default stderr);
    /// <paramref name="interactive"/>: redraw one line with carriage returns (default: when stderr is a terminal)
    /// rather than printing a plain line every 10%.
    /// </summary>
    public DatasetDownloader(string? root = null, string? mirror = null, TextWriter? progress = null, bool? interactive = null,
        HttpClient? client = null)
    {
        Root = root ?? DefaultRoot();
        Mirror = string.IsNullOrWhiteSpace(mirror) ? null : mirror.EndsWith('/') ? mirror : mirror + "/";
        _progress = progress ?? Console.Error;
        _interactive = interactive ?? (progress is null && !Console.IsErrorRedirected);
        _client = client ?? SharedClient;
    }

    readonly TextWriter _progress;
    readonly bool _interactive;
    readonly HttpClient _client;

    public string Root { get; }
    public string? Mirror { get; }

    /// <summary>A download that receives nothing for this long is abandoned (default 60 s).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Where downloads go when no root is given.</summary>
    public static string DefaultRoot()
    {
        var env = Environment.GetEnvironmentVariable(DatasetResolver.EnvironmentVariable);
        var first = env?.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (!string.IsNullOrEmpty(first)) return Path.GetFullPath(first);
        return Path.Combine(DatasetResolver.FindRepositoryRoot() ?? Directory.GetCurrentDirectory(), "data");
    }

    /// <summary>Downloads (and unpacks) every file of the catalog's dataset <paramref name="name"/>; returns its folder.</summary>
    public string Download(string name)
    {
        if (!Catalog.TryGetValue(name, out var source))
            throw new ArgumentException($"No download source for dataset '{name}'. Known: {string.Join(", ", Catalog.Keys.Order())}.", nameof(name));
        return Download(source);
    }

    /// <summary>Downloads (and unpacks) every file of <paramref name="source"/> not already present; returns its folder.</summary>
    public string Download(DatasetSource source)
    {
        var folder = Path.Combine(Root, source.Name);
        bool created = !Directory.Exists(folder);
        Directory.CreateDirectory(folder);
        try { DownloadInto(source, folder); }
        catch when (created && !Directory.EnumerateFileSystemEntries(folder).Any())
        {
            // Leave no empty folder behind that would later look like a present dataset.
            try { Directory.Delete(folder); } catch (IOException) { }
            throw;
        }
        return folder;
    }

    void DownloadInto(DatasetSource source, string folder)
    {
        foreach (var file in source.Files)
        {
            var target = Path.Combine(folder, file.FileName);
            if (!file.Extract && File.Exists(target)) continue;
            var bases = Mirror is null ? source.BaseUrls : new[] { Mirror };
            var errors = new List<string>();
            bool done = false;
            foreach (var b in bases)
            {
                var url = b + file.FileName;
                try
                {
                    DownloadFile(new Uri(url), target, file.Checksum, $"{source.Name}: {file.FileName}");
                    done = true;
                    break;
                }
                catch (DatasetDownloadException e) { errors.Add(e.Message); }
            }
            if (!done)
                throw new DatasetDownloadException(
                    $"Could not download {file.FileName} of dataset '{source.Name}' into {folder}:\n  " + string.Join("\n  ", errors) +
                    $"\nOther ways to get it: {source.HowToGet}\n(Homepage: {source.Homepage}; set {EnableVariable}=0 to never download, " +
                    $"{MirrorVariable}=<base URL> to use a mirror.)");
            if (file.Extract)
            {
                ExtractTarGz(target, folder);
                File.Delete(target);
            }
        }
    }

    /// <summary>
    /// Fetches <paramref name="url"/> to <paramref name="destination"/>: streams into <c>destination.part</c> while
    /// hashing, compares with <paramref name="checksum"/> (MD5 or SHA-256 hex), then renames. On any failure the
    /// .part file is deleted and a <see cref="DatasetDownloadException"/> names the URL and the file.
    /// </summary>
    public void DownloadFile(Uri url, string destination, string checksum, string? label = null)
    {
        label ??= Path.GetFileName(destination);
        var part = destination + ".part";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        using var hash = IncrementalHash.CreateHash(checksum.Length switch
        {
            32 => HashAlgorithmName.MD5,
            64 => HashAlgorithmName.SHA256,
            _ => throw new ArgumentException($"checksum '{checksum}' is neither MD5 (32 hex digits) nor SHA-256 (64)", nameof(checksum)),
        });
        using var stall = new CancellationTokenSource();
        try
        {
            using (var request = new HttpRequestMessage(HttpMethod.Get, url))
            using (var response = _client.Send(request, HttpCompletionOption.ResponseHeadersRead))
            {
                if (!response.IsSuccessStatusCode)
                    throw new DatasetDownloadException($"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase} (file {Path.GetFileName(destination)})");
                long? total = response.Content.Headers.ContentLength;
                using var body = response.Content.ReadAsStream();
                using var output = new FileStream(part, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                var buffer = new byte[1 << 16];
                long received = 0;
                var report = new ProgressReporter(_progress, _interactive, label, total);
                // A connection that stops sending would block Read forever: drop it after StallTimeout without data.
                using var watchdog = stall.Token.Register(response.Dispose);
                stall.CancelAfter(StallTimeout);
                int n;
                while ((n = body.Read(buffer, 0, buffer.Length)) > 0)
                {
                    stall.CancelAfter(StallTimeout);
                    output.Write(buffer, 0, n);
                    hash.AppendData(buffer, 0, n);
                    received += n;
                    report.Update(received);
                }
                stall.CancelAfter(Timeout.InfiniteTimeSpan);
                report.Finish(received);
                if (total is long t && received != t)
                    throw new DatasetDownloadException($"{url}: connection closed after {received} of {t} bytes (file {Path.GetFileName(destination)})");
            }
            var actual = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
            if (!string.Equals(actual, checksum, StringComparison.OrdinalIgnoreCase))
                throw new DatasetDownloadException(
                    $"{url}: checksum mismatch for {Path.GetFileName(destination)}: expected {(checksum.Length == 32 ? "MD5" : "SHA-256")} " +
                    $"{checksum.ToLowerInvariant()}, got {actual}; the download was discarded");
            File.Move(part, destination, overwrite: true);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or UnauthorizedAccessException or OperationCanceledException
                                      or ObjectDisposedException or DatasetDownloadException)
        {
            TryDelete(part);
            if (e is DatasetDownloadException) throw;
            if (stall.IsCancellationRequested)
                throw new DatasetDownloadException(
                    $"{url}: no data for {StallTimeout.TotalSeconds:0.#} s, gave up (file {Path.GetFileName(destination)})", e);
            throw new DatasetDownloadException($"{url}: {e.GetType().Name}: {e.Message} (file {Path.GetFileName(destination)})", e);
        }
    }

    /// <summary>Unpacks the regular files of a .tar.gz into <paramref name="folder"/>, flat (directories inside are dropped), each via .part + rename.</summary>
    public static void ExtractTarGz(string archive, string folder)
    {
        try
        {
            using var file = File.OpenRead(archive);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                var name = Path.GetFileName(entry.Name.TrimEnd('/'));
                if (string.IsNullOrEmpty(name) || name.StartsWith('.')) continue;
                var target = Path.Combine(folder, name);
                var part = target + ".part";
                using (var output = File.Create(part)) entry.DataStream.CopyTo(output);
                File.Move(part, target, overwrite: true);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new DatasetDownloadException($"{archive}: corrupt archive ({e.Message}); delete it and download it again", e);
        }
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Progress as "label  42%  11.1/26.4 MB": redrawn in place on a terminal, a plain line per 10% otherwise.</summary>
    sealed class ProgressReporter(TextWriter writer, bool interactive, string label, long? total)
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        long _lastDraw = -1;
        int _lastDecile; // first line at 10%
        long _lastMb;

        public void Update(long received)
        {
            if (interactive)
            {
                if (_lastDraw >= 0 && _clock.ElapsedMilliseconds - _lastDraw < 200) return;
                _lastDraw = _clock.ElapsedMilliseconds;
                writer.Write("\r" + Line(received));
                writer.Flush();
            }
            else if (total is > 0)
            {
                int decile = (int)(received * 10 / total.Value);
                if (decile <= _lastDecile) return;
                _lastDecile = decile;
                writer.WriteLine(Line(received));
            }
            else if (received / (10 << 20) > _lastMb)
            {
                _lastMb = received / (10 << 20);
                writer.WriteLine(Line(received));
            }
        }

        public void Finish(long received)
        {
            if (interactive) writer.WriteLine("\r" + Line(received) + FormattableString.Invariant($"  done in {_clock.Elapsed.TotalSeconds:F1} s"));
            else if (total is not > 0 || _lastDecile < 10) writer.WriteLine(Line(received));
            writer.Flush();
        }

        string Line(long received)
        {
            string f = (total ?? received) < 1_000_000 ? "F3" : "F1"; // small files: 0.029 MB, not 0.0 MB
            string mb = (received / 1e6).ToString(f, CultureInfo.InvariantCulture);
            return total is > 0
                ? $"{label}  {100.0 * received / total.Value,3:F0}%  {mb}/{(total.Value / 1e6).ToString(f, CultureInfo.InvariantCulture)} MB"
                : $"{label}  {mb} MB";
        }
    }
}
