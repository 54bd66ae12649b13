using SkiaSharp;
using Workbench.Data;

namespace Workbench.Tests.Data;

public class ImageFolderTests
{
    static void Save(string path, int w, int h, Action<SKCanvas> draw, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Premul);
        using (var canvas = new SKCanvas(bitmap)) draw(canvas);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
    }

    static Action<SKCanvas> Solid(byte r, byte g, byte b) => c => c.Clear(new SKColor(r, g, b));

    /// <summary>cats/a.png 40x20 red, cats/b.jpg 31x47 grey, dogs/c.png 17x33 (10,200,90), dogs/sub/d.png 64x64 gradient.</summary>
    static string MakeFolder()
    {
        var root = Directory.CreateTempSubdirectory("wb-imgfolder").FullName;
        Save(Path.Combine(root, "cats", "a.png"), 40, 20, Solid(255, 0, 0));
        Save(Path.Combine(root, "cats", "b.jpg"), 31, 47, Solid(128, 128, 128), SKEncodedImageFormat.Jpeg);
        Save(Path.Combine(root, "dogs", "c.png"), 17, 33, Solid(10, 200, 90));
        Save(Path.Combine(root, "dogs", "sub", "d.png"), 64, 64, c =>
        {
            using var paint = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(64, 0),
                new[] { SKColors.Black, SKColors.White }, SKShaderTileMode.Clamp) };
            c.DrawRect(0, 0, 64, 64, paint);
        });
        File.WriteAllText(Path.Combine(root, "dogs", "notes.txt"), "not an image");
        Save(Path.Combine(root, ".hidden", "e.png"), 8, 8, Solid(1, 2, 3));
        return root;
    }

    static void AssertSolid(ImageDataset ds, int index, byte r, byte g, byte b, int tolerance)
    {
        var img = ds.Images[index].to(TorchSharp.torch.ScalarType.Int32);
        foreach (var (channel, want) in new[] { (0, r), (1, g), (2, b) })
        {
            var plane = img[channel];
            Assert.InRange(plane.min().item<int>(), want - tolerance, want + tolerance);
            Assert.InRange(plane.max().item<int>(), want - tolerance, want + tolerance);
        }
    }

    [Fact]
    public void LoadsEveryImageCroppedAndResizedWithSubFolderLabels()
    {
        var root = MakeFolder();
        using var ds = ImageFolder.Load(root, 16);

        Assert.Equal(new long[] { 4, 3, 16, 16 }, ds.Images.shape);
        Assert.Equal(new[] { "cats", "dogs" }, ds.ClassNames);
        Assert.Equal(new long[] { 0, 0, 1, 1 }, ds.Labels!.data<long>().ToArray()); // a.png, b.jpg, c.png, sub/d.png
        AssertSolid(ds, 0, 255, 0, 0, tolerance: 0);     // 40x20 red: shrunk, still pure red
        AssertSolid(ds, 1, 128, 128, 128, tolerance: 2);  // JPEG grey (lossy codec)
        AssertSolid(ds, 2, 10, 200, 90, tolerance: 0);    // 17x33 enlarged with cubic filtering, same colour
        var gradient = ds.Images[3, 0, 8].data<byte>().ToArray(); // a row of the black-to-white ramp
        Assert.True(gradient[0] < 30 && gradient[15] > 225, string.Join(",", gradient));
        Assert.All(gradient.Zip(gradient.Skip(1)), p => Assert.True(p.Second >= p.First)); // still a ramp
    }

    [Fact]
    public void CropKeepsTheCentredSquare()
    {
        var root = Directory.CreateTempSubdirectory("wb-imgfolder").FullName;
        // 60x20: left third red, middle third green, right third blue; the centred square is the green third.
        Save(Path.Combine(root, "bands.png"), 60, 20, c =>
        {
            c.Clear(SKColors.Red);
            using var green = new SKPaint { Color = new SKColor(0, 255, 0) };
            using var blue = new SKPaint { Color = new SKColor(0, 0, 255) };
            c.DrawRect(20, 0, 20, 20, green);
            c.DrawRect(40, 0, 20, 20, blue);
        });
        foreach (var size in new[] { 5, 20, 32 })
        {
            using var ds = ImageFolder.Load(root, size);
            Assert.Null(ds.Labels); // images at the root: no classes
            AssertSolid(ds, 0, 0, 255, 0, tolerance: 0);
        }
    }

    [Fact]
    public void LargeReductionsAverageRatherThanAlias()
    {
        // 1-pixel black/white checks at 256x256: any point sampling gives black or white; averaging gives grey.
        var root = Directory.CreateTempSubdirectory("wb-imgfolder").FullName;
        Save(Path.Combine(root, "checks.png"), 256, 256, c =>
        {
            c.Clear(SKColors.Black);
            using var white = new SKPaint { Color = SKColors.White };
            for (int y = 0; y < 256; y++)
            for (int x = y % 2; x < 256; x += 2) c.DrawRect(x, y, 1, 1, white);
        });
        using var ds = ImageFolder.Load(root, 16);
        AssertSolid(ds, 0, 128, 128, 128, tolerance: 2);
    }

    [Fact]
    public void UndecodableFileIsNamedOrSkippedWithAWarning()
    {
        var root = Directory.CreateTempSubdirectory("wb-imgfolder").FullName;
        Save(Path.Combine(root, "good.png"), 10, 10, Solid(0, 0, 255));
        var bad = Path.Combine(root, "bad.png");
        File.WriteAllBytes(bad, new byte[] { 0x89, 0x50, 0x4e, 0x47, 1, 2, 3 });

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Load(root, 8));
        Assert.Contains(bad, e.Message);
        Assert.Contains("skipUndecodable", e.Message);

        var log = new StringWriter();
        using var ds = ImageFolder.Load(root, 8, skipUndecodable: true, log: log);
        Assert.Equal(1, ds.Count);
        Assert.Contains(bad, log.ToString());
        AssertSolid(ds, 0, 0, 0, 255, tolerance: 0);
    }

    [Fact]
    public async Task AFifoNamedLikeAnImageIsRefusedNotWaitedOn()
    {
        if (!OperatingSystem.IsLinux()) return;
        var root = Directory.CreateTempSubdirectory("wb-imgfolder").FullName;
        Save(Path.Combine(root, "good.png"), 10, 10, Solid(0, 0, 255));
        var fifo = Path.Combine(root, "pipe.png");
        using (var mk = System.Diagnostics.Process.Start("mkfifo", fifo)) mk.WaitForExit();
        var load = Task.Run(() => ImageFolder.Load(root, 8));
        Assert.True(await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(30))) == load, "loading a folder with a FIFO must not wait on it");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => load);
        Assert.Contains(fifo, e.Message);
        Assert.Contains("not a regular file", e.Message);
        var log = new StringWriter();
        using var ds = ImageFolder.Load(root, 8, skipUndecodable: true, log: log);
        Assert.Equal(1, ds.Count);
        Assert.Contains(fifo, log.ToString());
    }

    [Fact]
    public void HashSplitIsFixedDisjointAndNearTheRequestedFraction()
    {
        var names = Enumerable.Range(0, 4000).Select(i => $"img_align_celeba/{i:D6}.jpg").ToList();
        double fraction = names.Count(n => ImageFolder.IsTest(n, 0.1)) / (double)names.Count;
        Assert.InRange(fraction, 0.085, 0.115);
        Assert.Equal(names.Select(n => ImageFolder.IsTest(n, 0.1)), names.Select(n => ImageFolder.IsTest(n, 0.1)));

        var root = MakeFolder();
        var files = ImageFolder.ListImages(root);
        int tests = files.Count(f => ImageFolder.IsTest(f.Relative, 0.5));
        Assert.InRange(tests, 1, files.Count - 1); // this folder's four names do split at 0.5
        using var train = ImageFolder.Load(root, 8, train: true, testFraction: 0.5);
        using var test = ImageFolder.Load(root, 8, train: false, testFraction: 0.5);
        Assert.Equal(files.Count - tests, train.Count);
        Assert.Equal(tests, test.Count);
        Assert.EndsWith("/test", test.Name);
    }

    [Fact]
    public void MissingFolderSaysWhereItLooked()
    {
        var e = Assert.Throws<DatasetNotFoundException>(() => ImageFolder.Load("no-such-image-folder", 8));
        Assert.Contains("no-such-image-folder", e.Message);
        Assert.Contains(DatasetResolver.EnvironmentVariable, e.Message);
    }
}
