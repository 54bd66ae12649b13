using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Nn;

/// <summary>
/// A stride-1 depthwise convolution (groups = channels, one k×k filter per channel; the 5×5 conv of NVAE's
/// generator cell, Vahdat &amp; Kautz 2020, Section 3.1, Fig. 3a) with a hand-written backward pass.
/// <para>
/// libtorch's CPU backward for grouped convolutions takes a slow generic path; this backward computes the same
/// gradients with fast kernels instead (the input gradient costs a forward conv, the weight gradient k batched
/// matrix products):
/// <list type="bullet">
/// <item>∂L/∂x = depthwise conv of ∂L/∂y with the spatially flipped filters and padding k − 1 − p
/// (the transposed convolution of a stride-1 conv);</item>
/// <item>∂L/∂w[c, i, j] = Σ_{n,h,w} ∂L/∂y[n, c, h, w] · x_pad[n, c, h + i, w + j]: k batched matrix products
/// over the channels (one per row offset i) whose diagonals are the k column offsets j;</item>
/// <item>∂L/∂b[c] = Σ_{n,h,w} ∂L/∂y[n, c, h, w].</item>
/// </list>
/// The test <c>DepthwiseConvolutionGradientsMatchAutograd</c> compares them with libtorch's own autograd.
/// </para>
/// </summary>
public sealed class DepthwiseConv2dFunction : autograd.SingleTensorFunction<DepthwiseConv2dFunction>
{
    public override string Name => nameof(DepthwiseConv2dFunction);

    /// <summary>
    /// y = depthwise_conv(x, weight) + bias with stride 1 and zero padding <paramref name="padding"/>.
    /// <paramref name="weight"/> is [C, 1, k, k] (as <c>nn.Conv2d(C, C, k, groups: C)</c> holds it).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias, long padding)
    {
        if (x.dim() != 4) throw new ArgumentException($"DepthwiseConv2dFunction expects x as [N, C, H, W], got {Shapes.Of(x)}", nameof(x));
        if (weight.dim() != 4 || weight.shape[0] != x.shape[1] || weight.shape[1] != 1 || weight.shape[2] != weight.shape[3])
            throw new ArgumentException($"DepthwiseConv2dFunction expects weight [C, 1, k, k] with C = {x.shape[1]}, got {Shapes.Of(weight)}", nameof(weight));
        if (padding < 0 || padding > weight.shape[2] - 1)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"padding must be in [0, k − 1] for k = {weight.shape[2]}");
        return bias is null ? apply(x, weight, padding) : apply(x, weight, padding, bias);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var w = (Tensor)vars[1];
        long p = (long)vars[2];
        var b = vars.Length > 3 ? (Tensor)vars[3] : null;
        ctx.save_for_backward(new List<Tensor> { x, w });
        ctx.save_data("padding", p);
        ctx.save_data("bias", b is not null);
        return nn.functional.conv2d(x, w, b, padding: new[] { p, p }, groups: x.shape[1]);
    }

    /// <summary>The gradients of x, the weight and the bias. Runs in a dispose scope of its own: libtorch calls it on the
    /// thread that called backward(), inside that thread's scope (a training step's), which would otherwise hold every
    /// temporary of every depthwise backward (the padded input, its row slices, the per-row products) until the step
    /// ends; only the returned gradients leave it.</summary>
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        Tensor x = saved[0], w = saved[1];
        long p = (long)ctx.get_data("padding");
        bool hasBias = (bool)ctx.get_data("bias");
        long n = x.shape[0], c = x.shape[1], k = w.shape[2];
        var g = gradOutput.contiguous();

        var gradX = nn.functional.conv2d(g, w.flip(2, 3), padding: new[] { k - 1 - p, k - 1 - p }, groups: c);

        // ∂L/∂w[c, i, j] = Σ_{n,h,w} g[n, c, h, w] · x_pad[n, c, h + i, w + j]. For each row offset i one batched
        // matmul over channels, M_i[c] = G_cᵀ · X_{c,i} ([W', N·H'] × [N·H', W + 2p]), holds every column
        // product; its j-th diagonal, Σ_w M_i[c, w, w + j], is the gradient at (i, j).
        long ho = g.shape[2], wo = g.shape[3];
        var xp = (p > 0 ? nn.functional.pad(x, new[] { p, p, p, p }) : x).transpose(0, 1); // [C, N, H + 2p, W + 2p]
        long wp = xp.shape[3];
        var gT = g.transpose(0, 1).reshape(c, n * ho, wo).transpose(1, 2);                // [C, W', N·H']
        var rows = new Tensor[k];
        for (int i = 0; i < k; i++)
        {
            var xi = xp[.., .., i..(i + (int)ho), ..].reshape(c, n * ho, wp);              // [C, N·H', W + 2p]
            var m = bmm(gT, xi).contiguous();                                              // [C, W', W + 2p]
            rows[i] = m.as_strided(new[] { c, k, wo }, new[] { wo * wp, 1, wp + 1 }).sum(2); // [C, k]: diagonals
        }
        var gradW = stack(rows, 1).reshape(c, 1, k, k);

        var grads = new List<Tensor> { gradX.MoveToOuterDisposeScope(), gradW.MoveToOuterDisposeScope(), null! }; // x, weight, padding (not a tensor)
        if (hasBias) grads.Add(g.sum(new long[] { 0, 2, 3 }).MoveToOuterDisposeScope());
        return grads;
    }
}
