using System.Text.Json;
using Workbench.Tests.Cli;
using Workbench.Zoo;

namespace Workbench.Tests.Zoo;

/// <summary>
/// The models that ship in the repository's <c>models/</c>: every file matches zoo.json, every model loads into its
/// family, re-measures its card's check metric, and the Fashion-MNIST Glow re-trains its first steps as its log says.
/// </summary>
[Collection(CliCollection.Name)]
public class ShippedZooTests
{
    static string Zoo => ZooModel.DefaultZooFolder ?? throw new SkipTestException("not inside a workbench checkout (no models/)");

    static ZooEntry[] Models()
    {
        var models = ZooManifest.Read(Zoo).Models;
        if (models.Length == 0) throw new SkipTestException($"{ZooManifest.PathIn(Zoo)} lists no models");
        return models;
    }

    static void RequireData(ZooCard card)
    {
        if (card.Dataset.StartsWith("fashion-mnist") && RequiredData.FashionMnistMissing() is string why) throw new SkipTestException(why);
    }

    [SkippableFact]
    public void EveryShippedModelMatchesZooJsonAndLoadsIntoItsFamily()
    {
        Models();
        var r = CliTestHost.Run("zoo", "verify", "--zoo", Zoo);
        Assert.True(r.Code == 0, r.Err);
    }

    [SkippableFact]
    public void EveryShippedModelReproducesItsCardsCheckMetric()
    {
        foreach (var entry in Models())
        {
            var card = ZooCard.Read(Path.Combine(Zoo, entry.Name, ZooModel.CardFile));
            RequireData(card);
            long examples = card.Check["examples"]!.GetValue<long>();
            if (examples == 0) continue;   // a family without a held-out metric (GANs)
            var r = CliTestHost.Run("eval", Path.Combine(Zoo, entry.Name), "--eval-limit", examples.ToString(), "--seed", card.Check["seed"]!.ToString(),
                "--quality", "0");
            Assert.True(r.Code == 0, $"{entry.Name}: {r.Err}");
            var line = JsonDocument.Parse(r.Out.Trim().Split('\n')[^1]).RootElement;
            bool checkedAny = false;
            foreach (var (key, value) in card.Check)
            {
                if (!key.Contains("bpd") || value is null) continue;   // bits/dim; counts such as active units may move by one on another CPU
                double expected = value.GetValue<double>();
                double actual = line.GetProperty(key).GetDouble();
                Assert.True(Math.Abs(actual - expected) <= 1e-3 * Math.Max(1, Math.Abs(expected)),
                    $"{entry.Name}: {key} is {actual} on the first {examples} test images; the card says {expected}");
                checkedAny = true;
            }
            Assert.True(checkedAny, $"{entry.Name}: its card's check has no bits/dim");
        }
    }

    [SkippableFact]
    public void ReproductionKeepsTheValuesOfFieldsAddedAfterTheCardWasWritten()
    {
        foreach (var (name, expected) in new[]
                 {
                     ("glow-fashion-mnist-medium", new[] { "Padding=Zero", "ActNormLogScaleFactor=1" }),
                     ("stylegan2-faces32-small", new[] { "PathLengthDetachMean=true" }),
                 })
        {
            if (Models().All(m => m.Name != name)) continue;
            var card = ZooCard.Read(Path.Combine(Zoo, name, ZooModel.CardFile));
            var commands = Workbench.Cli.ZooCommand.ReproductionCommands(card, "/tmp/x", 5);
            var first = commands[0];
            foreach (var setting in expected)
                Assert.True(Enumerable.Range(0, first.Length - 1).Any(i => first[i] == "--set" && first[i + 1] == setting),
                    $"{name}: `{string.Join(" ", first)}` lacks --set {setting}");
            foreach (var resume in commands.Where(c => c.Contains("--resume")))   // a resume reads the config its run recorded
                Assert.DoesNotContain(resume, t => expected.Contains(t));
        }
    }

    [SkippableFact]
    public void TheFashionMnistGlowRetrainsItsFirstStepsAsItsLogSays()
    {
        const string name = "glow-fashion-mnist-medium";
        if (Models().All(m => m.Name != name)) throw new SkipTestException($"{name} is not in the zoo");
        RequireData(ZooCard.Read(Path.Combine(Zoo, name, ZooModel.CardFile)));
        var run = RunFixtures.NewRun("zoo-reproduce-shipped");
        var r = CliTestHost.Run("zoo", "reproduce", name, "--zoo", Zoo, "--steps", "5", "--out", run);
        Assert.True(r.Code == 0, r.Err);
        var line = JsonDocument.Parse(r.Out.Trim().Split('\n')[^1]).RootElement;
        if (!line.GetProperty("same_cpu").GetBoolean() && !line.GetProperty("agree").GetBoolean())
            throw new SkipTestException($"trained on another kind of CPU, and float rounding differs: {r.Err.Trim().Split('\n')[^1]}");
        Assert.True(line.GetProperty("agree").GetBoolean(), r.Err);
    }
}
