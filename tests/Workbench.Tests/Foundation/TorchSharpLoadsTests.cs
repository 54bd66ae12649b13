using TorchSharp;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Foundation;

public class TorchSharpLoadsTests
{
    /// <summary>The native backend loads on this host and a small conv net learns: its loss falls.</summary>
    [Fact]
    public void SmallConvNetTrainsAndLossFalls()
    {
        Seeding.Set(0);
        using var net = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding: 1), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding: 1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2));
        // Two classes: bright top half vs bright bottom half.
        using var x = randn(64, 1, 8, 8) * 0.3;
        using var y = randint(0, 2, 64, dtype: int64);
        using (no_grad())
        {
            var rows = arange(8).view(1, 1, 8, 1);
            var top = (rows < 4).to(float32);
            var sign = (y.to(float32) * 2 - 1).view(-1, 1, 1, 1);
            x.add_(sign * (top * 2 - 1));
        }
        var opt = optim.Adam(net.parameters(), 1e-2);
        var ps = net.parameters().ToList();
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            var r = TrainStep.Run(opt, ps, () => nn.functional.cross_entropy(net.call(x), y), step);
            if (step == 0) first = r.Loss;
            last = r.Loss;
        }
        Assert.True(last < first * 0.5, $"loss fell only from {first} to {last}");
    }
}
