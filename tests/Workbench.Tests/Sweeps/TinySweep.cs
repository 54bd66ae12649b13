using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Tests.Cli;

namespace Workbench.Tests.Sweeps;

/// <summary>Sweep files for the tests: NICE at a tiny size on Fashion-MNIST, 2 steps of batch 8, 16 test images.</summary>
public static class TinySweep
{
    /// <summary>Writes a sweep file into a fresh temporary folder; returns (file, folder for --out).</summary>
    public static (string File, string Out) Write(string grid = """{ "Coupling": ["Additive", "Affine"] }""", string seeds = "[0, 1]",
        long steps = 2, string extra = "")
    {
        var root = Directory.CreateTempSubdirectory("wb-sweep").FullName;
        var file = Path.Combine(root, "tiny.json");
        File.WriteAllText(file, $$"""
            {
              "family": "nice", "data": "fashion-mnist", "steps": {{steps}}, "batch": 8, "eval_limit": 16, "sample_every": 0, {{extra}}
              "set": { "StepsPerLevel": 2, "HiddenChannels": 8, "WarmupSteps": 1 },
              "grid": {{grid}},
              "seeds": {{seeds}}
            }
            """);
        return (file, Path.Combine(root, "out"));
    }

    /// <summary>The closing JSON line of a command's stdout.</summary>
    public static JsonNode Result(string stdout) => JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;

    /// <summary>Runs <c>workbench sweep status DIR</c> in-process and returns its JSON line.</summary>
    public static JsonNode Status(string dir)
    {
        var (code, output, err) = CliTestHost.Run("sweep", "status", dir);
        Assert.True(code == 0, err);
        return Result(output);
    }

    public static int Count(JsonNode status, string state) => status[state]!.GetValue<int>();
}
