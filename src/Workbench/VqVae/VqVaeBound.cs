using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// VQ-VAE's bound on the codelength of an image (van den Oord et al. 2017, Section 3.1 and 4.1): since
/// p(x) = Σ_z p(z) p(x | z) ≥ p(z_q(x)) p(x | z_q(x)),
/// −log₂ p(x) ≤ −log₂ p(x | z_q(x)) − log₂ p(z_q(x)), reported per dimension (C·H·W). The decoder term uses
/// <see cref="VqVae.DecoderNll"/> (a discretized Gaussian, so the bound is a codelength of the 8-bit image); the prior term
/// is N·log₂ K bits for the uniform prior the VQ-VAE trains with, or Σ_l −log₂ p_l(z_l | z_&lt;l) of the trained
/// <see cref="CodePrior"/>s.
/// </summary>
public static class VqVaeBound
{
    /// <summary>−log p(x | z_q(x)) [B] in nats, the code maps and the decoder's mean, for images x on [−1, 1] (eval mode,
    /// no gradient).</summary>
    public static (Tensor DecoderNats, Tensor[] Codes, Tensor Mean) Decoder(VqVae model, Tensor x)
    {
        using var _ = no_grad();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            var o = model.forward(x);
            return (o.DecoderNll, o.Codes, o.Reconstruction);
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>The uniform prior's −log p(z) in nats per image: N·ln K for N code positions.</summary>
    public static double UniformPriorNats(VqVae model) => model.CodePositions * Math.Log(model.Config.Codes);

    /// <summary>−log p(z) [B] in nats under the priors (top first), each level conditioned on the ones above.</summary>
    public static Tensor PriorNats(VqVae model, IReadOnlyList<CodePrior> priors, IReadOnlyList<Tensor> codes)
    {
        if (priors.Count != codes.Count) throw new ArgumentException($"VqVaeBound: {codes.Count} code map(s) but {priors.Count} prior(s)", nameof(priors));
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        Tensor? total = null;
        for (int l = 0; l < priors.Count; l++)
        {
            var nats = -priors[l].LogProb(codes[l], model.PriorCondition(l, codes.Take(l).ToList()));
            total = total is null ? nats : total + nats;
        }
        return total!.MoveToOuterDisposeScope();
    }

    /// <summary>Nats per image → bits per dimension.</summary>
    public static Tensor BitsPerDim(Tensor nats, long dimensions) => nats / (dimensions * Math.Log(2));

    /// <summary>Nats per image → bits per dimension.</summary>
    public static double BitsPerDim(double nats, long dimensions) => nats / (dimensions * Math.Log(2));
}
