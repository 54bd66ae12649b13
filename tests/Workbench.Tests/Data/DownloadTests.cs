using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Workbench.Data;

namespace Workbench.Tests.Data;

/// <summary>Keeps every test in this assembly off the internet: the resolver never downloads unless a test passes its own (loopback) downloader.</summary>
static class NoDownloadsInTests
{
#pragma warning disable CA2255 // a module initializer in a test assembly is exactly what we want here
    [ModuleInitializer]
    internal static void Disable() => Environment.SetEnvironmentVariable(DatasetDownloader.EnableVariable, "0");
#pragma warning restore CA2255
}

/// <summary>A minimal HTTP/1.1 server on 127.0.0.1 (free port) serving fixed bytes by path; anything else is 404.</summary>
sealed class LoopbackServer : IDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly Dictionary<string, byte[]> _files;
    readonly CancellationTokenSource _stop = new();

    /// <summary>Paths whose response sends the headers and the first 10 bytes, then nothing more until disposed.</summary>
    public HashSet<string> Stalling { get; } = new();

    public LoopbackServer(Dictionary<string, byte[]> files)
    {
        _files = files;
        _listener.Start();
        // dedicated threads, not the thread pool: a stalling handler must not starve the client's timers
        new Thread(Serve) { IsBackground = true }.Start();
    }

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";

    void Serve()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = _listener.AcceptTcpClient(); }
            catch (Exception) { return; } // listener stopped
            new Thread(() => Handle(client)) { IsBackground = true }.Start();
        }
    }

    void Handle(TcpClient client)
    {
        using (client)
        using (var stream = client.GetStream())
        {
            var header = new StringBuilder();
            while (!header.ToString().EndsWith("\r\n\r\n"))
            {
                int b = stream.ReadByte();
                if (b < 0) return;
                header.Append((char)b);
            }
            var path = header.ToString().Split(' ')[1];
            var found = _files.TryGetValue(path, out var body);
            var head = found
                ? $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {body!.Length}\r\nConnection: close\r\n\r\n"
                : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            stream.Write(Encoding.ASCII.GetBytes(head));
            if (found && Stalling.Contains(path))
            {
                stream.Write(body.AsSpan(0, 10));
                _stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(20));
                return;
            }
            if (found) stream.Write(body);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}

public class DownloadTests
{
    static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    static string Md5(byte[] b) => Convert.ToHexString(MD5.HashData(b)).ToLowerInvariant();
    static string Sha256(byte[] b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

    [Fact]
    public void TestsNeverDownloadByThemselves()
    {
        Assert.False(DatasetDownloader.EnabledByEnvironment);
        Assert.Null(DatasetDownloader.FromEnvironment());
    }

    [Fact]
    public void DownloadVerifiesChecksumShowsProgressAndRenames()
    {
        var payload = RandomBytes(3_000_000, 1);
        using var server = new LoopbackServer(new() { ["/a.bin"] = payload, ["/b.bin"] = payload });
        var dir = Directory.CreateTempSubdirectory("wb-dl").FullName;
        var progress = new StringWriter();
        var dl = new DatasetDownloader(root: dir, progress: progress, interactive: false);

        dl.DownloadFile(new Uri(server.BaseUrl + "a.bin"), Path.Combine(dir, "a.bin"), Md5(payload));
        dl.DownloadFile(new Uri(server.BaseUrl + "b.bin"), Path.Combine(dir, "b.bin"), Sha256(payload).ToUpperInvariant());

        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(dir, "a.bin")));
        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(dir, "b.bin")));
        Assert.Equal(new[] { "a.bin", "b.bin" }, Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(dir, "a.bin")));
        var lines = progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Any(l => l.Contains("a.bin") && l.Contains("100%") && l.Contains("3.0/3.0 MB")), progress.ToString());
        Assert.InRange(lines.Count(l => l.StartsWith("a.bin ")), 9, 11); // a line per 10%
        Assert.DoesNotContain('\r', progress.ToString()); // redirected output: plain lines

        var terminal = new StringWriter(); // on a terminal one line is redrawn in place
        new DatasetDownloader(root: dir, progress: terminal, interactive: true)
            .DownloadFile(new Uri(server.BaseUrl + "a.bin"), Path.Combine(dir, "c.bin"), Md5(payload));
        Assert.StartsWith("\r", terminal.ToString());
        Assert.Contains("100%  3.0/3.0 MB  done in", terminal.ToString());
        Assert.Single(terminal.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ChecksumMismatchIsAnErrorAndLeavesNothingBehind()
    {
        var payload = RandomBytes(100_000, 2);
        using var server = new LoopbackServer(new() { ["/x.gz"] = payload });
        var dir = Directory.CreateTempSubdirectory("wb-dl").FullName;
        var dl = new DatasetDownloader(root: dir, progress: TextWriter.Null, interactive: false);
        var wrong = Md5(RandomBytes(10, 3));

        var e = Assert.Throws<DatasetDownloadException>(() =>
            dl.DownloadFile(new Uri(server.BaseUrl + "x.gz"), Path.Combine(dir, "x.gz"), wrong));

        Assert.Contains(server.BaseUrl + "x.gz", e.Message);
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Contains(wrong, e.Message);
        Assert.Contains(Md5(payload), e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void MissingFileNamesTheUrl()
    {
        using var server = new LoopbackServer(new());
        var dir = Directory.CreateTempSubdirectory("wb-dl").FullName;
        var dl = new DatasetDownloader(root: dir, progress: TextWriter.Null, interactive: false);

        var e = Assert.Throws<DatasetDownloadException>(() =>
            dl.DownloadFile(new Uri(server.BaseUrl + "nope.gz"), Path.Combine(dir, "nope.gz"), Md5(new byte[1])));

        Assert.Contains(server.BaseUrl + "nope.gz", e.Message);
        Assert.Contains("404", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void StalledConnectionIsAbandonedWithAClearError()
    {
        var payload = RandomBytes(1000, 5);
        using var server = new LoopbackServer(new() { ["/slow.bin"] = payload });
        server.Stalling.Add("/slow.bin");
        var dir = Directory.CreateTempSubdirectory("wb-dl").FullName;
        var dl = new DatasetDownloader(root: dir, progress: TextWriter.Null, interactive: false) { StallTimeout = TimeSpan.FromMilliseconds(500) };

        var e = Assert.Throws<DatasetDownloadException>(() =>
            dl.DownloadFile(new Uri(server.BaseUrl + "slow.bin"), Path.Combine(dir, "slow.bin"), Md5(payload)));

        Assert.Contains(server.BaseUrl + "slow.bin", e.Message);
        Assert.Contains("no data for 0.5 s", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    [Fact]
    public void ResolverDownloadsAKnownDatasetAsItsLastStepTryingMirrorsInOrder()
    {
        var images = Gzip(DataCoreTests.IdxBytes(RandomBytes(3 * 4 * 4, 4), 3, 4, 4));
        var labels = Gzip(DataCoreTests.IdxBytes(new byte[] { 1, 2, 3 }, 3));
        using var server = new LoopbackServer(new() { ["/ok/t10k-images-idx3-ubyte.gz"] = images, ["/ok/t10k-labels-idx1-ubyte.gz"] = labels });
        var name = "wb-download-test-" + Guid.NewGuid().ToString("N");
        DatasetDownloader.Register(new DatasetSource(name, new[] { server.BaseUrl + "gone/", server.BaseUrl + "ok/" },
            new[] { new RemoteFile("t10k-images-idx3-ubyte.gz", Md5(images)), new RemoteFile("t10k-labels-idx1-ubyte.gz", Sha256(labels)) },
            "http://example.invalid/", "test", "test data"));
        var root = Directory.CreateTempSubdirectory("wb-dl").FullName;
        var progress = new StringWriter();
        var required = new[] { "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

        Assert.Null(DatasetResolver.TryLocate(name, required));
        var folder = DatasetResolver.Locate(name, required, downloader: new DatasetDownloader(root, progress: progress, interactive: false));

        Assert.Equal(Path.Combine(root, name), folder);
        using var x = Idx.ReadBytes(DatasetResolver.FindFile(folder, "t10k-images-idx3-ubyte")!);
        Assert.Equal(new long[] { 3, 4, 4 }, x.shape);
        Assert.Contains("t10k-labels-idx1-ubyte.gz", progress.ToString());
        Assert.Empty(Directory.GetFiles(folder, "*.part"));
    }

    [Fact]
    public void WhenEveryMirrorFailsTheErrorSaysWhatWasTriedAndHowElseToGetIt()
    {
        using var server = new LoopbackServer(new());
        var name = "wb-download-test-" + Guid.NewGuid().ToString("N");
        DatasetDownloader.Register(new DatasetSource(name, new[] { server.BaseUrl + "a/", server.BaseUrl + "b/" },
            new[] { new RemoteFile("f.bin", Md5(new byte[1])) }, "http://example.invalid/", "test", "Copy f.bin by hand."));
        var dl = new DatasetDownloader(Directory.CreateTempSubdirectory("wb-dl").FullName, progress: TextWriter.Null, interactive: false);

        var e = Assert.Throws<DatasetDownloadException>(() => DatasetResolver.Locate(name, new[] { "f.bin" }, downloader: dl));

        Assert.Contains(server.BaseUrl + "a/f.bin", e.Message);
        Assert.Contains(server.BaseUrl + "b/f.bin", e.Message);
        Assert.Contains("Copy f.bin by hand.", e.Message);
        Assert.Contains(DatasetDownloader.EnableVariable, e.Message);
    }

    [Fact]
    public void ArchivesAreUnpackedFlatAndReadAsCifar10()
    {
        var record = new byte[Cifar10.RecordBytes];
        record[0] = 7;
        record[1 + 1024 + 5] = 99; // green plane, row 0, column 5
        var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "cifar-10-batches-bin/"));
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "cifar-10-batches-bin/test_batch.bin") { DataStream = new MemoryStream(record) });
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "cifar-10-batches-bin/batches.meta.txt") { DataStream = new MemoryStream("airplane\n"u8.ToArray()) });
        }
        var archive = Gzip(tar.ToArray());
        using var server = new LoopbackServer(new() { ["/cifar-10-binary.tar.gz"] = archive });
        var source = new DatasetSource("cifar-10", new[] { "http://unused.invalid/" },
            new[] { new RemoteFile("cifar-10-binary.tar.gz", Md5(archive), Extract: true) }, "", "", "");
        var root = Directory.CreateTempSubdirectory("wb-dl").FullName;

        var folder = new DatasetDownloader(root, mirror: server.BaseUrl, progress: TextWriter.Null, interactive: false).Download(source);

        Assert.Equal(new[] { "batches.meta.txt", "test_batch.bin" }, Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order());
        using var ds = Cifar10.Read("t", new[] { Path.Combine(folder, "test_batch.bin") });
        Assert.Equal(7, ds.Labels![0].item<long>());
        Assert.Equal(99, ds.Images[0, 1, 0, 5].item<byte>());
    }

    [Fact]
    public void DisabledDownloadSaysSoAndNamesTheOfficialUrl()
    {
        if (DatasetResolver.TryLocate("cifar-10", Cifar10.TestFiles) is not null) return; // present here: nothing to miss
        var e = Assert.Throws<DatasetNotFoundException>(() => DatasetResolver.Locate("cifar-10", Cifar10.TestFiles));
        Assert.Contains($"{DatasetDownloader.EnableVariable}=0", e.Message);
        Assert.Contains("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", e.Message);
        Assert.Contains("data/cifar-10/", e.Message);
    }

    [Fact]
    public void CatalogHasTheOfficialSourcesAndPublishedChecksums()
    {
        var fm = DatasetDownloader.Catalog["fashion-mnist"];
        Assert.StartsWith("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", fm.BaseUrls[0]);
        Assert.Equal("8d4fb7e6c68d591d4c3dfef9ec88bf0d", fm.Files.Single(f => f.FileName == "train-images-idx3-ubyte.gz").Checksum);
        Assert.Equal(4, DatasetDownloader.Catalog["mnist"].Files.Count);
        Assert.True(DatasetDownloader.Catalog["cifar-10"].Files.Single().Extract);
        Assert.All(DatasetDownloader.Catalog.Values.SelectMany(s => s.Files), f => Assert.Matches("^[0-9a-f]{32}([0-9a-f]{32})?$", f.Checksum));
    }
}
