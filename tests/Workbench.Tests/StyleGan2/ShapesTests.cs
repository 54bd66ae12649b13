using Workbench.Nn;
using static TorchSharp.torch;

namespace Workbench.Tests.StyleGan2;

/// <summary>The one-line shape assertion the modules use.</summary>
public class ShapesTests
{
    [Fact]
    public void ExpectChecksRankAndExactSizesAndNamesTheTensor()
    {
        using var x = zeros(2, 3, 8, 8);
        Shapes.Expect(x, "x", "N", 3, "H", "W");            // names match any size
        Shapes.Expect(x, "x", 2L, 3, 8, 8);                   // long and int sizes
        var wrongSize = Assert.Throws<ArgumentException>(() => Shapes.Expect(x, "ModulatedConv2d: x", "N", 4, "H", "W"));
        Assert.Equal("ModulatedConv2d: x must be [N, 4, H, W], got [2, 3, 8, 8]", wrongSize.Message);
        Assert.Throws<ArgumentException>(() => Shapes.Expect(x, "x", "N", 3, "H"));   // rank 4, not 3
        Assert.Throws<ArgumentException>(() => Shapes.Expect(x, "x", "N", 3, "H", "W", "D"));
        Assert.Equal("[2, 3, 8, 8]", Shapes.Of(x));
    }
}
