using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Gans;

/// <summary>DCGAN's initialisation (Radford et al. 2016, Section 4): every convolution's weight from N(0, 0.02²), batch
/// norm's scale from N(1, 0.02²), biases 0.</summary>
public static class DcganInit
{
    public static void Apply(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var m in module.modules())
        {
            switch (m)
            {
                case Conv2d c:
                    c.weight!.normal_(0, 0.02);
                    c.bias?.zero_();
                    break;
                case ConvTranspose2d t:
                    t.weight!.normal_(0, 0.02);
                    t.bias?.zero_();
                    break;
                case BatchNorm2d b:
                    b.weight!.normal_(1, 0.02);
                    b.bias!.zero_();
                    break;
            }
        }
    }
}
