using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// A discriminator (critic) D(x) or, with classes, D(x, y), returning one unnormalised score per example [N] (a logit
/// for the minimax, non-saturating and hinge losses, the critic's value for the Wasserstein loss). A conditional D
/// takes the label as a one-hot input (Mirza &amp; Osindero 2014) or by projection (<see cref="ProjectionHead"/>).
/// </summary>
public abstract class GanDiscriminator : nn.Module
{
    readonly ProjectionHead? projection;

    /// <param name="name">the module's name.</param>
    /// <param name="config">the networks' config.</param>
    /// <param name="features">the width of φ(x), the features the projection head reads.</param>
    protected GanDiscriminator(string name, GanConfig config, long features) : base(name)
    {
        config.Validate();
        Config = config;
        if (config.Projection)
        {
            projection = new ProjectionHead(config.Classes, features);
            register_module("projection", projection);
        }
    }

    public GanConfig Config { get; }

    /// <summary>Scores [N] for x and, with classes, labels [N].</summary>
    public abstract Tensor Score(Tensor x, Tensor? labels = null);

    /// <summary>Extra input width for a one-hot label (classes without projection; 0 otherwise).</summary>
    protected int OneHotDim => Config.Classes > 0 && !Config.Projection ? Config.Classes : 0;

    /// <summary>Checks the labels against the config: required and in range with classes, absent without.</summary>
    protected void CheckLabels(Tensor? labels, long n)
    {
        if (Config.Classes == 0)
        {
            if (labels is not null) throw new ArgumentException($"{GetName()}: labels given to an unconditional discriminator (GanConfig.Classes is 0)");
            return;
        }
        GanGenerator.CheckLabels(labels, n, Config.Classes, GetName());
    }

    /// <summary>The one-hot label [N, Classes] as the input's dtype.</summary>
    protected Tensor OneHot(Tensor labels, Tensor like) => nn.functional.one_hot(labels, Config.Classes).to(like.dtype);

    /// <summary>ψ(φ(x)) plus the projection term ⟨e_y, φ(x)⟩ when the config asks for it.</summary>
    protected Tensor WithProjection(Tensor psi, Tensor phi, Tensor? labels) =>
        projection is null ? psi : psi + projection.call(phi, labels!);
}
