using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Flows;

/// <summary>
/// The coupling network for vector data (2-D toys, NICE's setting): Linear - ReLU - Linear - ReLU -
/// zero-initialised Linear.
/// </summary>
public sealed class MlpCouplingNetwork : nn.Module<Tensor, Tensor>
{
    readonly Linear fc1;
    readonly Linear fc2;
    readonly Linear fc3;

    public MlpCouplingNetwork(long inFeatures, long hidden, long outFeatures) : base(nameof(MlpCouplingNetwork))
    {
        fc1 = nn.Linear(inFeatures, hidden);
        fc2 = nn.Linear(hidden, hidden);
        fc3 = nn.Linear(hidden, outFeatures);
        using (no_grad())
        {
            fc3.weight!.zero_();
            fc3.bias!.zero_();
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) =>
        fc3.call(nn.functional.relu(fc2.call(nn.functional.relu(fc1.call(x)))));
}
