using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Workbench.Zoo;

/// <summary>
/// A trained model's card for code (<c>card.json</c> in its zoo folder; <c>README.md</c> beside it is the same for
/// people): what was trained (family, config, data), how (the exact <c>workbench</c> commands, commit, seed, steps,
/// batch, wall-clock, machine, threads), what it measures (<see cref="Metrics"/>, each with the protocol it was
/// measured on) and what it cannot do.
/// </summary>
/// <param name="Name"><c>&lt;family&gt;-&lt;dataset&gt;-&lt;preset&gt;</c>, the folder's name.</param>
/// <param name="Family">the command line's model name (glow, nvae, vae, stylegan2, diffusion, …).</param>
/// <param name="Dataset">the dataset it was trained on (its train split; metrics are on the test split).</param>
/// <param name="Shape">the images' [C, H, W].</param>
/// <param name="Parameters">parameters of the inference network the weights hold.</param>
/// <param name="ConfigType">the model config record's type (e.g. <c>Workbench.Flows.GlowConfig</c>).</param>
/// <param name="Run">the run's <c>run.json</c> as trained (model, data, batch, seed, steps, resolved config, changes on resume).</param>
/// <param name="Commands">the <c>workbench train …</c> commands that made it, resumes included, in order.</param>
/// <param name="Commit">the project commit the training ran at.</param>
/// <param name="TrainedUtc">when the final checkpoint was written (UTC).</param>
/// <param name="Steps">optimizer steps taken.</param>
/// <param name="Batch">batch size.</param>
/// <param name="Seed">the run's seed (weights, data order, noise).</param>
/// <param name="WallClockSeconds">training time, from the log's last row.</param>
/// <param name="Machine">the CPU (or GPU) and OS it was trained on.</param>
/// <param name="Threads">libtorch intra-op threads during training.</param>
/// <param name="Metrics">measured numbers by name (e.g. <c>test_bpd</c>, <c>fd_resnet18</c>, their real-vs-real floors).</param>
/// <param name="EvalCommands">the <c>workbench eval …</c> commands that measured <see cref="Metrics"/>.</param>
/// <param name="Protocol">how <see cref="Metrics"/> were measured (split, number of images/samples, seeds), in words.</param>
/// <param name="Check">a cheap re-measurement anyone can repeat: the metric on the first <c>check_examples</c> test images
/// with libtorch seeded by <c>check_seed</c> (<see cref="ZooModel"/>'s tests compare it).</param>
/// <param name="Limitations">what it cannot do, in sentences.</param>
public sealed record ZooCard(
    string Name, string Family, string Dataset, long[] Shape, long Parameters, string ConfigType, JsonObject Run,
    string[] Commands, string Commit, string TrainedUtc, long Steps, int Batch, long Seed, double WallClockSeconds,
    string Machine, int Threads, JsonObject Metrics, string[] EvalCommands, string Protocol, JsonObject Check, string[] Limitations)
{
    /// <summary>card.json's spelling: snake_case, indented, unknown fields refused.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a card; a missing, malformed or incomplete one is an error naming the file.</summary>
    public static ZooCard Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing", path);
        ZooCard? card;
        try { card = JsonSerializer.Deserialize<ZooCard>(File.ReadAllText(path), JsonOptions); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a valid model card ({e.Message.Split('\n')[0]})"); }
        if (card is null) throw new InvalidDataException($"{path}: empty");
        var missing = new (string, object?)[]
        {
            ("name", card.Name), ("family", card.Family), ("dataset", card.Dataset), ("shape", card.Shape), ("config_type", card.ConfigType),
            ("run", card.Run), ("commands", card.Commands), ("metrics", card.Metrics), ("check", card.Check),
        }.Where(f => f.Item2 is null).Select(f => f.Item1).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: not a valid model card ({string.Join(", ", missing)} missing)");
        return card;
    }

    /// <summary>Every numeric metric by name (text fields such as <c>floor_source</c> and nulls left out).</summary>
    public IReadOnlyDictionary<string, double> NumericMetrics() =>
        Metrics.Where(kv => kv.Value is JsonValue v && v.TryGetValue<double>(out _))
            .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>());

    /// <summary>A metric by name, or null when the card has none (or it was not finite).</summary>
    public double? Metric(string name) => Metrics[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
