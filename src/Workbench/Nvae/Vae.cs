using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// The plain VAE (Kingma &amp; Welling 2014): q(z | x) = N(μ(x), σ(x)²) with one latent group, p(z) = N(0, I),
/// trained on the ELBO log p(x|z) − KL(q ‖ p) with the reparameterization z = μ + σ·ε. Built from the same cells
/// and likelihoods as <see cref="Nvae"/> (see <see cref="VaeConfig"/>).
/// </summary>
public sealed class Vae : VaeModel
{
    readonly Conv2d stem;
    readonly Sequential encoder;
    readonly Conv2d encSampler;
    readonly Conv2d decInput;
    readonly Sequential decoder;
    readonly Conv2d output;
    readonly SpectralRegularizer spectral;
    readonly IImageLikelihood likelihood;
    readonly (int C, int H, int W) latent;

    public VaeConfig Config { get; }

    public Vae(VaeConfig config) : base(nameof(Vae))
    {
        Config = config;
        var widths = config.Scales;
        int side = config.ImageSize >> widths.Length;
        if (side << widths.Length != config.ImageSize)
            throw new ArgumentException($"VaeConfig.ImageSize {config.ImageSize} must be divisible by 2^{widths.Length} (one halving per width)");
        likelihood = config.Likelihood == LikelihoodKind.Bernoulli ? new BernoulliLikelihood() : new DiscretizedLogisticMixture(config.Components);
        double rs = config.ResidualScale;
        stem = nn.Conv2d(config.ImageChannels, config.StemChannels, 3, padding: 1);
        var enc = new List<nn.Module<Tensor, Tensor>>();
        long c = config.StemChannels;
        foreach (var w in widths)
        {
            enc.Add(new EncoderResidualCell(c, w, true, rs));
            c = w;
            for (int i = 0; i < config.CellsPerScale; i++) enc.Add(new EncoderResidualCell(c, c, false, rs));
        }
        enc.Add(nn.ELU());
        encoder = nn.Sequential(enc);
        encSampler = nn.Conv2d(c, 2 * config.LatentChannels, 3, padding: 1);
        decInput = nn.Conv2d(config.LatentChannels, c, 3, padding: 1);
        var dec = new List<nn.Module<Tensor, Tensor>>();
        for (int i = widths.Length - 1; i >= 0; i--)
        {
            for (int k = 0; k < config.CellsPerScale; k++) dec.Add(new GeneratorResidualCell(c, c, config.Expansion, false, rs));
            long next = i > 0 ? widths[i - 1] : config.StemChannels;
            dec.Add(new GeneratorResidualCell(c, next, config.Expansion, true, rs));
            c = next;
        }
        dec.Add(nn.ELU());
        decoder = nn.Sequential(dec);
        output = nn.Conv2d(c, likelihood.ParamChannels(config.ImageChannels), 3, padding: 1);
        latent = (config.LatentChannels, side, side);
        var parts = new nn.Module[] { stem, encoder, encSampler, decInput, decoder, output };
        spectral = new SpectralRegularizer(parts);
        RegisterComponents();
    }

    public override IImageLikelihood Likelihood => likelihood;
    public override (int C, int H, int W) ImageShape => (Config.ImageChannels, Config.ImageSize, Config.ImageSize);
    public override IReadOnlyList<(int C, int H, int W)> GroupShapes => new[] { latent };
    public override double[] BalanceAlpha => new[] { 1.0 };
    public override SpectralRegularizer Spectral => spectral;

    Tensor Decode(Tensor z) => output.call(decoder.call(decInput.call(z)));

    public override VaeOutput forward(Tensor images)
    {
        CheckImages(images);
        using var scope = NewDisposeScope();
        var qp = encSampler.call(encoder.call(stem.call(ToInput(images)))).chunk(2, 1);
        var q = DiagonalNormal.FromParams(qp[0], qp[1]);
        var prior = DiagonalNormal.Standard(q.Mu);
        var z = q.Sample();
        var parameters = Decode(z);
        var outp = new VaeOutput(parameters, likelihood.LogProb(parameters, images), new[] { q.Kl(prior) },
            q.LogProb(z).sum(new long[] { 1, 2, 3 }), prior.LogProb(z).sum(new long[] { 1, 2, 3 }), new[] { z });
        foreach (var t in new[] { outp.Params, outp.LogPx, outp.Kl[0], outp.LogQ, outp.LogP, z }) t.MoveToOuterDisposeScope();
        return outp;
    }

    public override (Tensor Params, Tensor[] Z) Generate(long n, double temperature = 1.0, IReadOnlyList<Tensor?>? fixedZ = null)
    {
        using var scope = NewDisposeScope();
        var (c, h, w) = latent;
        var given = fixedZ is { Count: > 0 } ? fixedZ[0] : null;
        var dev = output.weight!.device;
        var z = given is not null ? given.to(dev).expand(n, -1, -1, -1) : randn(new long[] { n, c, h, w }, device: dev) * temperature;
        var p = Decode(z);
        return (p.MoveToOuterDisposeScope(), new[] { z.MoveToOuterDisposeScope() });
    }
}
