using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>
/// The projection discriminator's class term (Miyato &amp; Koyama 2018, Eq. 3 and Fig. 1): D(x, y) = ψ(φ(x)) + yᵀVφ(x),
/// with y one-hot, i.e. the inner product of the label's learnt embedding e_y = Vᵀy with the features φ(x). The
/// embedding starts at zero scale N(0, 0.02²) like DCGAN's weights. Returns the term [N].
/// </summary>
public sealed class ProjectionHead : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Embedding embedding;

    public ProjectionHead(int classes, long features) : base(nameof(ProjectionHead))
    {
        embedding = nn.Embedding(classes, features);
        using (no_grad()) embedding.weight!.normal_(0, 0.02);
        RegisterComponents();
    }

    public Embedding Embedding => embedding;

    /// <param name="phi">features φ(x) [N, F].</param>
    /// <param name="labels">int64 [N].</param>
    public override Tensor forward(Tensor phi, Tensor labels) =>
        (embedding.call(labels) * phi).sum(new long[] { 1 });
}
