using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Nvae;

/// <summary>
/// Discretized mixture of logistics for 8-bit images (Salimans et al. 2017, PixelCNN++; used by NVAE for
/// CIFAR-10 and the other 8-bit datasets). A pixel value k ∈ {0..255} is mapped to x = k/127.5 − 1 and gets the
/// mass of its bin [x − 1/255, x + 1/255] under each logistic component (the two end bins take the tails), mixed
/// with softmax weights. For RGB the channel means depend linearly on the earlier channels of the same pixel
/// (μ_g += a·x_r, μ_b += b·x_r + c·x_g), as in PixelCNN++; for other channel counts the channels are independent.
/// Parameter layout for K components and C channels: [B, K + C·2K (+3K for RGB), H, W] =
/// logits(K), means(C·K), log scales(C·K), then coefficients(3K, RGB only).
/// </summary>
public sealed class DiscretizedLogisticMixture : IImageLikelihood
{
    public int Components { get; }

    public DiscretizedLogisticMixture(int components = 10)
    {
        if (components < 1) throw new ArgumentOutOfRangeException(nameof(components), components, "need at least one component");
        Components = components;
    }

    public int ParamChannels(int imageChannels) => Components * (1 + 2 * imageChannels + (imageChannels == 3 ? 3 : 0));

    (Tensor logits, Tensor means, Tensor logScales, Tensor? coeffs) Split(Tensor p, long c)
    {
        long k = Components, b = p.shape[0], h = p.shape[2], w = p.shape[3];
        if (p.shape[1] != ParamChannels((int)c))
            throw new ArgumentException($"DiscretizedLogisticMixture: expected {ParamChannels((int)c)} parameter channels for {c} image channels and {k} components, got {p.shape[1]}");
        var logits = p[.., ..(int)k];
        var means = p[.., (int)k..(int)(k + c * k)].reshape(b, c, k, h, w);
        var logScales = p[.., (int)(k + c * k)..(int)(k + 2 * c * k)].reshape(b, c, k, h, w).clamp_min(-7.0);
        Tensor? coeffs = c == 3 ? tanh(p[.., (int)(k + 2 * c * k)..].reshape(b, 3, k, h, w)) : null;
        return (logits, means, logScales, coeffs);
    }

    /// <summary>Component means after the RGB channel coupling, given the (true or sampled) pixel values x [B, C, 1, H, W].</summary>
    static Tensor CoupledMeans(Tensor means, Tensor? coeffs, Tensor x)
    {
        if (coeffs is null) return means;
        var mr = means[.., 0];
        var mg = means[.., 1] + coeffs[.., 0] * x[.., 0];
        var mb = means[.., 2] + coeffs[.., 1] * x[.., 0] + coeffs[.., 2] * x[.., 1];
        return stack(new[] { mr, mg, mb }, 1);
    }

    /// <summary>
    /// log P(k) of each pixel value per component: [B, C, K, H, W]. Interior bins use the stable identity
    /// log(σ(a) − σ(b)) = log σ(a) + log σ(−b) + log(1 − e^(b−a)), so no density approximation is needed.
    /// </summary>
    public static Tensor BinLogProb(Tensor x, Tensor means, Tensor logScales)
    {
        var invS = exp(-logScales);
        var centered = x - means;
        var a = invS * (centered + 1.0 / 255);   // upper edge
        var bLow = invS * (centered - 1.0 / 255); // lower edge
        var logCdfUpper = nn.functional.logsigmoid(a);
        var logOneMinusCdfLower = nn.functional.logsigmoid(-bLow);
        var width = invS * (2.0 / 255);
        var interior = logCdfUpper + logOneMinusCdfLower + log(-expm1(-width));
        var lo = (x < -0.999).expand_as(interior);
        var hi = (x > 0.999).expand_as(interior);
        return where(lo, logCdfUpper, where(hi, logOneMinusCdfLower, interior));
    }

    public Tensor LogProb(Tensor parameters, Tensor images)
    {
        using var scope = NewDisposeScope();
        long c = images.shape[1];
        var (logits, means, logScales, coeffs) = Split(parameters, c);
        var x = (images.to(ScalarType.Float32) / 127.5 - 1).unsqueeze(2); // [B, C, 1, H, W]
        var m = CoupledMeans(means, coeffs, x);
        var perComp = BinLogProb(x, m, logScales).sum(1) + nn.functional.log_softmax(logits, 1); // [B, K, H, W]
        return logsumexp(perComp, 1).sum(new long[] { 1, 2 }).MoveToOuterDisposeScope();
    }

    public Tensor Sample(Tensor parameters) => Draw(parameters, stochastic: true);

    public Tensor Mean(Tensor parameters) => Draw(parameters, stochastic: false);

    Tensor Draw(Tensor parameters, bool stochastic)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long k = Components;
        long perK = parameters.shape[1] / k;
        long c = perK == 10 ? 3 : (perK - 1) / 2; // RGB carries 3K coefficient channels: K(1 + 2·3 + 3) = 10K
        var (logits, means, logScales, coeffs) = Split(parameters, c);
        // component choice: Gumbel-max when sampling, the most probable component otherwise
        Tensor choice = stochastic
            ? (logits - log(-log(rand_like(logits).clamp(1e-5, 1 - 1e-5)))).argmax(1)
            : logits.argmax(1);
        // the chosen component's parameters, [B, C, H, W] from [B, C, K, H, W]
        var index = choice.unsqueeze(1).unsqueeze(2);                 // [B, 1, 1, H, W]
        Tensor Chosen(Tensor t) => t.gather(2, index.expand(t.shape[0], t.shape[1], 1, t.shape[3], t.shape[4])).squeeze(2);
        var mu = Chosen(means);
        var ls = stochastic ? Chosen(logScales) : null;
        var co = coeffs is null ? null : Chosen(coeffs);
        var xs = new List<Tensor>();
        for (int ch = 0; ch < c; ch++)
        {
            var m = mu[.., ch];
            if (co is not null && ch > 0)
                m = ch == 1 ? m + co[.., 0] * xs[0] : m + co[.., 1] * xs[0] + co[.., 2] * xs[1];
            var xc = m;
            if (ls is not null)
            {
                var u = rand_like(m).clamp(1e-5, 1 - 1e-5);
                xc = m + exp(ls[.., ch]) * (log(u) - log(1 - u));
            }
            xs.Add(xc.clamp(-1, 1));
        }
        var img = ((stack(xs, 1) + 1) * 127.5).round().clamp(0, 255).to(ScalarType.Byte);
        return img.MoveToOuterDisposeScope();
    }
}
