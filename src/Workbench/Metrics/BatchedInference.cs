using TorchSharp;
using Workbench.Data;
using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// Runs a network over uint8 images [N, C, H, W] in batches: each batch scaled to [−1, 1] (<see cref="Preprocess.ToSigned"/>)
/// on the module's device, in eval mode without gradients, the outputs concatenated on the CPU; the module returns to
/// the mode it was in.
/// </summary>
public static class BatchedInference
{
    public static Tensor Apply(nn.Module module, Tensor imagesUint8, int batchSize, Func<Tensor, Tensor> f)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        bool was = module.training;
        module.eval();
        try
        {
            using var _ = no_grad();
            var device = module.parameters().First().device;
            var outs = new List<Tensor>();
            for (long s = 0; s < imagesUint8.shape[0]; s += batchSize)
            {
                using var scope = NewDisposeScope();
                var x = Preprocess.ToSigned(imagesUint8[(int)s..(int)Math.Min(s + batchSize, imagesUint8.shape[0])].to(device));
                outs.Add(f(x).cpu().MoveToOuterDisposeScope());
            }
            var result = cat(outs, 0);
            foreach (var o in outs) o.Dispose();
            return result;
        }
        finally { module.train(was); }
    }
}
