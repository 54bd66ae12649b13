using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.VqVae;

/// <summary>
/// VQ-VAE's decoder (van den Oord et al. 2017, Section 4.1): a 3×3 convolution to hidden units, residual blocks
/// (<see cref="VqResidualBlock"/>), a ReLU, then one stride-2 4×4 transposed convolution per entry of
/// <c>outputPaddings</c> (ReLUs between; the last goes to <c>outChannels</c>, the others to hidden/2 after the first).
/// Each doubles the side and adds its output padding (0 or 1), so odd sides (28 → 14 → 7) are restored exactly.
/// </summary>
public sealed class Decoder : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly ModuleList<VqResidualBlock> blocks;
    readonly ModuleList<ConvTranspose2d> upsample;

    public Decoder(long inChannels, long hidden, long residualHidden, int residualBlocks, int[] outputPaddings, long outChannels) : base(nameof(Decoder))
    {
        if (outputPaddings.Length < 1) throw new ArgumentException("the decoder needs at least one stride-2 transposed convolution", nameof(outputPaddings));
        conv = nn.Conv2d(inChannels, hidden, 3, padding: 1);
        blocks = new ModuleList<VqResidualBlock>(Enumerable.Range(0, residualBlocks).Select(_ => new VqResidualBlock(hidden, residualHidden)).ToArray());
        var ups = new List<ConvTranspose2d>();
        long c = hidden;
        for (int i = 0; i < outputPaddings.Length; i++)
        {
            long o = i == outputPaddings.Length - 1 ? outChannels : hidden / 2;
            long op = outputPaddings[i];
            ups.Add(nn.ConvTranspose2d(c, o, 4, stride: 2, padding: 1, output_padding: op));
            c = o;
        }
        upsample = new ModuleList<ConvTranspose2d>(ups.ToArray());
        RegisterComponents();
    }

    /// <summary>The output paddings (in upsampling order) that bring a side halved <paramref name="halvings"/> times
    /// (<see cref="VqVaeConfig.Halve"/>) back to <paramref name="to"/>.</summary>
    public static int[] OutputPaddings(int to, int halvings)
    {
        var sides = new List<int> { to };
        for (int i = 0; i < halvings; i++) sides.Add(VqVaeConfig.Halve(sides[^1]));
        // upsampling step i goes from sides[halvings - i] to sides[halvings - i - 1]: 2·s + op
        return Enumerable.Range(0, halvings).Select(i => sides[halvings - i - 1] - 2 * sides[halvings - i]).ToArray();
    }

    public override Tensor forward(Tensor z)
    {
        using var scope = NewDisposeScope();
        var h = conv.call(z);
        foreach (var b in blocks) h = b.call(h);
        h = nn.functional.relu(h);
        for (int i = 0; i < upsample.Count; i++)
        {
            h = upsample[i].call(h);
            if (i < upsample.Count - 1) h = nn.functional.relu(h);
        }
        return h.MoveToOuterDisposeScope();
    }
}
