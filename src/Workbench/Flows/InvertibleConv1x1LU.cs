using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Flows;

/// <summary>
/// The LU-decomposed invertible 1x1 convolution (Glow, Section 3.2, Eq. 10): W = P L (U + diag(s)) with P a
/// fixed permutation, L unit lower triangular, U strictly upper triangular (both through masks) and
/// s = sign * exp(log_s); log|det| = H*W*sum(log_s), O(C) instead of O(C^3). Initialised from the LU
/// decomposition of a random rotation (or of a given W, so it matches <see cref="InvertibleConv1x1"/> exactly).
/// </summary>
public sealed class InvertibleConv1x1LU : FlowLayer
{
    readonly Tensor p;
    readonly Tensor sign_s;
    readonly Tensor lower_mask;
    readonly Tensor upper_mask;
    readonly Tensor eye;
    readonly Parameter lower;
    readonly Parameter upper;
    readonly Parameter log_s;

    public InvertibleConv1x1LU(long channels) : this(InvertibleConv1x1.RandomRotation(channels)) { }

    public InvertibleConv1x1LU(Tensor initialWeight) : base(nameof(InvertibleConv1x1LU))
    {
        if (initialWeight.dim() != 2 || initialWeight.shape[0] != initialWeight.shape[1])
            throw new ArgumentException($"InvertibleConv1x1LU: weight must be square [C, C], got {Shapes.Of(initialWeight)}");
        long c = initialWeight.shape[0];
        Channels = c;
        var dtype = initialWeight.dtype;
        var (pm, l, u) = Decompose(initialWeight);
        var diag = new double[c];
        var sign = new double[c];
        var logAbs = new double[c];
        for (int i = 0; i < c; i++)
        {
            diag[i] = u[i, i];
            sign[i] = Math.Sign(diag[i]);
            logAbs[i] = Math.Log(Math.Abs(diag[i]));
            u[i, i] = 0;
        }
        p = tensor(pm).to(dtype);
        sign_s = tensor(sign).to(dtype);
        lower_mask = ones(c, c, dtype: dtype).tril(-1);
        upper_mask = ones(c, c, dtype: dtype).triu(1);
        eye = torch.eye(c, dtype: dtype);
        lower = nn.Parameter(tensor(l).to(dtype));
        upper = nn.Parameter(tensor(u).to(dtype));
        log_s = nn.Parameter(tensor(logAbs).to(dtype));
        RegisterComponents();
    }

    public long Channels { get; }

    /// <summary>W = P L (U + diag(sign * exp(log_s))).</summary>
    public Tensor Weight()
    {
        var l = lower * lower_mask + eye;
        var u = upper * upper_mask + diag(sign_s * log_s.exp());
        return p.matmul(l).matmul(u);
    }

    public override (Tensor Y, Tensor LogDet) forward(Tensor x)
    {
        CheckChannels(x, Channels, nameof(InvertibleConv1x1LU));
        return (InvertibleConv1x1.Apply(x, Weight()), Broadcast(log_s.sum() * SpatialSize(x), x));
    }

    public override Tensor Inverse(Tensor y)
    {
        CheckChannels(y, Channels, nameof(InvertibleConv1x1LU));
        return InvertibleConv1x1.Apply(y, linalg.inv(Weight()));
    }

    /// <summary>LU with partial pivoting in double precision: W = P L U (L unit lower, U upper).</summary>
    static (double[,] P, double[,] L, double[,] U) Decompose(Tensor w)
    {
        int n = (int)w.shape[0];
        var flat = w.detach().cpu().to(ScalarType.Float64).data<double>().ToArray();
        var a = new double[n, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) a[i, j] = flat[i * n + j];
        var perm = Enumerable.Range(0, n).ToArray();
        var l = new double[n, n];
        for (int k = 0; k < n; k++)
        {
            int piv = k;
            for (int i = k + 1; i < n; i++) if (Math.Abs(a[i, k]) > Math.Abs(a[piv, k])) piv = i;
            if (Math.Abs(a[piv, k]) < 1e-300) throw new ArgumentException("InvertibleConv1x1LU: the initial weight is singular");
            if (piv != k)
            {
                for (int j = 0; j < n; j++) (a[k, j], a[piv, j]) = (a[piv, j], a[k, j]);
                for (int j = 0; j < k; j++) (l[k, j], l[piv, j]) = (l[piv, j], l[k, j]);
                (perm[k], perm[piv]) = (perm[piv], perm[k]);
            }
            for (int i = k + 1; i < n; i++)
            {
                double f = a[i, k] / a[k, k];
                l[i, k] = f;
                for (int j = k; j < n; j++) a[i, j] -= f * a[k, j];
            }
        }
        // Rows of W were reordered as W[perm] = L U, so W = P L U with P[perm[i], i] = 1.
        var pm = new double[n, n];
        for (int i = 0; i < n; i++) pm[perm[i], i] = 1;
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) a[i, j] = 0;
        return (pm, l, a);
    }
}
