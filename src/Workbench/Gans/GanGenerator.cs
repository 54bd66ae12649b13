using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// A generator G(z) or, with classes, G(z, y) (Mirza &amp; Osindero 2014, Section 3.2): the label enters as a learnt
/// class embedding e_y concatenated to z, so the output depends on the label only through its row of the embedding.
/// </summary>
public abstract class GanGenerator : nn.Module
{
    readonly Embedding? classEmbedding;

    protected GanGenerator(string name, GanConfig config) : base(name)
    {
        config.Validate();
        Config = config;
        if (config.Classes > 0)
        {
            classEmbedding = nn.Embedding(config.Classes, config.ClassEmbeddingDim);
            register_module("class_embedding", classEmbedding);
        }
    }

    public GanConfig Config { get; }

    /// <summary>The class embedding [Classes, EmbeddingDim] (null when unconditional).</summary>
    public Embedding? ClassEmbedding => classEmbedding;

    /// <summary>The width of the network's input: z, and e_y with classes.</summary>
    protected int InputDim => Config.ZDim + (Config.Classes > 0 ? Config.ClassEmbeddingDim : 0);

    /// <summary>Samples for z [N, ZDim] and, with classes, labels [N] (int64 in [0, Classes)).</summary>
    public abstract Tensor Generate(Tensor z, Tensor? labels = null);

    /// <summary>The network's input: z, or [z, e_y] with classes; a missing, unexpected or out-of-range label is an error.</summary>
    protected Tensor Input(Tensor z, Tensor? labels)
    {
        Nn.Shapes.Expect(z, $"{GetName()}: z", "N", Config.ZDim);
        if (classEmbedding is null)
            return labels is null ? z : throw new ArgumentException($"{GetName()}: labels given to an unconditional generator (GanConfig.Classes is 0)");
        CheckLabels(labels, z.shape[0], Config.Classes, GetName());
        return cat(new[] { z, classEmbedding.call(labels!) }, 1);
    }

    /// <summary>Labels must be int64 [N] in [0, classes).</summary>
    internal static void CheckLabels(Tensor? labels, long n, int classes, string who)
    {
        if (labels is null) throw new ArgumentException($"{who}: a conditional network (GanConfig.Classes = {classes}) needs labels");
        Nn.Shapes.Expect(labels, $"{who}: labels", n);
        if (labels.dtype != ScalarType.Int64) throw new ArgumentException($"{who}: labels must be int64, got {labels.dtype}");
        if (n > 0 && (labels.min().item<long>() < 0 || labels.max().item<long>() >= classes))
            throw new ArgumentException($"{who}: labels must be in [0, {classes}), got [{labels.min().item<long>()}, {labels.max().item<long>()}]");
    }

    /// <summary>n samples with z ~ N(0, I) drawn from <paramref name="generator"/> (default: libtorch's global one),
    /// on the generator's device, in its current mode.</summary>
    public Tensor Sample(int n, Tensor? labels = null, Generator? generator = null)
    {
        var device = parameters().First().device;
        using var scope = NewDisposeScope();
        var z = randn(new long[] { n, Config.ZDim }, generator: generator).to(device);
        return Generate(z, labels?.to(device)).MoveToOuterDisposeScope();
    }
}
