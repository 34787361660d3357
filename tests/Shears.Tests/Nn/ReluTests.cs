using Shears.Nn;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Nn;

public class ReluTests
{
    private static double[] Reference(double[] x) => x.Select(v => Math.Max(v, 0)).ToArray();

    [Theory]
    [InlineData(5, 37)]
    [InlineData(3, 301)]
    [InlineData(1, 1)]
    public void Relu_forward_matches_reference_and_backward_matches_finite_differences(int batch, int features)
    {
        var rng = new Random(batch * 31 + features);
        CheckForwardAndGradients(new Relu("relu"), [batch, features], RandomAwayFromZero(rng, batch * features), (x, _) => Reference(x), rng);
    }

    [Fact]
    public void Relu_keeps_image_shapes_and_checks_gradients_on_four_dimensional_input()
    {
        var rng = new Random(11);
        var layer = new Relu("relu");
        Assert.Equal([3, 9, 7], layer.OutputShape([3, 9, 7]));
        CheckForwardAndGradients(layer, [2, 3, 9, 7], RandomAwayFromZero(rng, 2 * 3 * 9 * 7), (x, _) => Reference(x), rng);
    }

    [Fact]
    public void Relu_matches_reference_exactly_on_a_large_tensor_split_across_threads()
    {
        var rng = new Random(5);
        int n = 3 * (1 << 16) + 13;
        var layer = new Relu("relu");
        var x = RandomFloats(rng, n);
        var dy = RandomFloats(rng, n);
        var y = layer.Forward(new Tensor((float[])x.Clone(), 1, n), training: true).ReadOnlySpan.ToArray();
        var dx = layer.Backward(new Tensor((float[])dy.Clone(), 1, n), needInputGradient: true)!.ReadOnlySpan.ToArray();
        Assert.Equal(x.Select(v => Math.Max(v, 0f)), y);
        Assert.Equal(x.Select((v, i) => v > 0 ? dy[i] : 0f), dx);
    }

    [Fact]
    public void Relu_gradient_at_exactly_zero_is_zero()
    {
        var layer = new Relu("relu");
        layer.Forward(new Tensor([0f, -0f, 1f, -1f], 1, 4), training: true);
        var dx = layer.Backward(new Tensor([5f, 5f, 5f, 5f], 1, 4), needInputGradient: true)!;
        Assert.Equal([0f, 0f, 5f, 0f], dx.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void Relu_backward_without_input_gradient_returns_null()
    {
        var layer = new Relu("relu");
        layer.Forward(new Tensor(2, 3), training: true);
        Assert.Null(layer.Backward(new Tensor(2, 3), needInputGradient: false));
    }

    [Fact]
    public void Relu_backward_without_forward_throws()
    {
        var layer = new Relu("relu3");
        Assert.Contains("relu3", Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 2), true)).Message);
        layer.Forward(new Tensor(1, 2), training: false);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 2), true));
    }
}
