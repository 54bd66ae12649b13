using TorchSharp;
using Workbench.Flows;
using Workbench.Training;
using static TorchSharp.torch;
using static Workbench.Tests.Flows.FlowTestUtil;

namespace Workbench.Tests.Flows;

public class MadeTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void JacobianIsStrictlyLowerTriangularUnderItsOrder(bool reversed)
    {
        Seeding.Set(247);
        using var scope = NewDisposeScope();
        const int d = 5;
        var made = new Made(d, 16, hiddenLayers: 2, reversed: reversed);
        made.to(float64);
        Perturb(made, 0.5);
        var x = randn(1, d, dtype: float64);
        foreach (var (name, pick) in new (string, Func<(Tensor, Tensor), Tensor>)[] { ("mu", o => o.Item1), ("alpha", o => o.Item2) })
        {
            var jac = Jacobian(v => pick(made.call(v)), x).data<double>().ToArray(); // [D, D] row-major
            int below = 0;
            for (int o = 0; o < d; o++)
                for (int i = 0; i < d; i++)
                {
                    bool earlier = made.InputDegrees[i] < made.InputDegrees[o];
                    if (!earlier) Assert.True(jac[o * d + i] == 0, $"{name}_{o} depends on x_{i}, which is not earlier in the order");
                    else if (jac[o * d + i] != 0) below++;
                }
            Assert.True(below > 0, $"{name} ignores every earlier input");
        }
    }
}
