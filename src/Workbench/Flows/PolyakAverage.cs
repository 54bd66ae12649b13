using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// A minimal exponential moving average of a module's parameters (Polyak averaging, which Glow's code uses for
/// evaluation): shadow = decay * shadow + (1 - decay) * param after each step; <see cref="SwapIn"/> puts the
/// averages into the module for evaluation and <see cref="SwapOut"/> restores the trained weights.
/// (Kept inside Flows until the shared Workbench.Training.Ema lands.)
/// </summary>
public sealed class PolyakAverage : IDisposable
{
    readonly Tensor[] _shadow;
    readonly Tensor[] _backup;
    readonly double _decay;

    public PolyakAverage(nn.Module module, double decay)
    {
        if (decay is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(decay), decay, "decay must be in (0, 1)");
        _decay = decay;
        using var _ = no_grad();
        _shadow = module.parameters().Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
        _backup = _shadow.Select(s => zeros_like(s).DetachFromDisposeScope()).ToArray();
    }

    public void Update(nn.Module module)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int i = 0;
        foreach (var p in module.parameters()) _shadow[i++].mul_(_decay).add_(p.detach(), alpha: 1 - _decay);
    }

    public void SwapIn(nn.Module module)
    {
        using var _ = no_grad();
        int i = 0;
        foreach (var p in module.parameters()) { _backup[i].copy_(p); p.copy_(_shadow[i]); i++; }
    }

    public void SwapOut(nn.Module module)
    {
        using var _ = no_grad();
        int i = 0;
        foreach (var p in module.parameters()) p.copy_(_backup[i++]);
    }

    public void Dispose()
    {
        foreach (var t in _shadow) t.Dispose();
        foreach (var t in _backup) t.Dispose();
    }
}
