using TorchSharp;
using Workbench.Data;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// Trains a feature network (the Fashion-MNIST classifier, the factor regressor) with Adam on shuffled batches seeded
/// by <c>seed</c>, each step in its own dispose scope (<see cref="TrainStep"/>); the loss sees the network's output
/// for the batch scaled to [−1, 1] and the batch itself. Returns the log ("loss" per step) and leaves the module in eval mode.
/// </summary>
public static class SupervisedTraining
{
    public static TrainingLog Run(nn.Module<Tensor, Tensor> module, ImageDataset data, int steps, int batchSize, double lr, long seed,
        Func<Tensor, Batch, Tensor> loss, Action<long, double>? progress = null)
    {
        var device = module.parameters().First().device;
        var loader = new BatchLoader(data, batchSize, shuffle: true, seed: seed, device: device);
        var ps = module.parameters().ToList();
        using var opt = optim.Adam(ps, lr);
        var log = new TrainingLog();
        module.train();
        for (long step = 0; step < steps; step++)
        {
            var r = TrainStep.Run(opt, ps, () =>
            {
                var b = loader.Next();
                return loss(module.call(Preprocess.ToSigned(b.Images)), b);
            }, step);
            log.Add(step + 1, ("loss", r.Loss));
            progress?.Invoke(step + 1, r.Loss);
        }
        module.eval();
        return log;
    }
}
