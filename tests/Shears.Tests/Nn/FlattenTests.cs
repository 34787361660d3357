using Shears.Nn;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Nn;

public class FlattenTests
{
    [Fact]
    public void Flatten_forward_matches_reference_and_backward_matches_finite_differences()
    {
        var rng = new Random(1);
        var layer = new Flatten("flatten");
        // Row-major flattening is the identity on the buffer.
        CheckForwardAndGradients(layer, [2, 3, 9, 7], RandomFloats(rng, 2 * 3 * 9 * 7), (x, _) => (double[])x.Clone(), rng);
    }

    [Fact]
    public void Flatten_collapses_every_axis_after_the_batch()
    {
        var layer = new Flatten("flatten");
        Assert.Equal([60], layer.OutputShape([3, 4, 5]));
        var x = new Tensor(2, 3, 4, 5);
        x[1, 2, 3, 4] = 7f;
        var y = layer.Forward(x, training: true);
        Assert.Equal([2, 60], y.Shape.ToArray());
        Assert.Equal(7f, y[1, 59]);
        var dx = layer.Backward(y, needInputGradient: true)!;
        Assert.Equal([2, 3, 4, 5], dx.Shape.ToArray());
        Assert.Equal(7f, dx[1, 2, 3, 4]);
    }

    [Fact]
    public void Flatten_backward_without_input_gradient_returns_null()
    {
        var layer = new Flatten("flatten");
        layer.Forward(new Tensor(2, 3, 4), training: true);
        Assert.Null(layer.Backward(new Tensor(2, 12), needInputGradient: false));
    }

    [Fact]
    public void Flatten_backward_without_forward_throws()
    {
        var layer = new Flatten("flat0");
        Assert.Contains("flat0", Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(2, 12), true)).Message);
        layer.Forward(new Tensor(2, 3, 4), training: false);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(2, 12), true));
    }
}
