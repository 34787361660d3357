using Shears.Nn;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Nn;

public class LinearTests
{
    /// <summary>y[n, o] = b[o] + Σᵢ W[o, i]·x[n, i], W stored [out, in].</summary>
    internal static double[] Reference(double[] x, double[] w, double[] b, int batch, int inputs, int outputs)
    {
        var y = new double[batch * outputs];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outputs; o++)
            {
                double s = b[o];
                for (int i = 0; i < inputs; i++) s += w[o * inputs + i] * x[n * inputs + i];
                y[n * outputs + o] = s;
            }
        return y;
    }

    private static Linear Random(int inputs, int outputs, Random rng)
    {
        var layer = new Linear("fc", inputs, outputs);
        Fill(layer.Weight, rng);
        Fill(layer.Bias, rng);
        return layer;
    }

    [Theory]
    [InlineData(37, 19, 5)]
    [InlineData(301, 7, 3)]
    [InlineData(1, 1, 1)]
    [InlineData(8, 16, 2)]
    public void Linear_forward_matches_reference_and_backward_matches_finite_differences(int inputs, int outputs, int batch)
    {
        var rng = new Random(inputs * 1000 + outputs);
        var layer = Random(inputs, outputs, rng);
        CheckForwardAndGradients(layer, [batch, inputs], RandomFloats(rng, batch * inputs),
            (x, p) => Reference(x, p[0], p[1], batch, inputs, outputs), rng);
    }

    [Fact]
    public void Linear_computes_a_hand_worked_example()
    {
        var layer = new Linear("fc", 2, 2);
        new float[] { 1, 2, 3, 4 }.CopyTo(layer.Weight.Value.Span); // rows are outputs: [1 2; 3 4]
        new float[] { 0.5f, -1 }.CopyTo(layer.Bias.Value.Span);
        var y = layer.Forward(new Tensor([1f, -1f], 1, 2), training: false);
        Assert.Equal([1 - 2 + 0.5f, 3 - 4 - 1f], y.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void Linear_stores_weight_as_out_by_in_with_prunable_weight_and_dense_bias()
    {
        var layer = new Linear("fc1", 37, 19);
        Assert.Equal([19, 37], layer.Weight.Value.Shape.ToArray());
        Assert.Equal([19], layer.Bias.Value.Shape.ToArray());
        Assert.Equal("fc1.weight", layer.Weight.Name);
        Assert.Equal("fc1.bias", layer.Bias.Name);
        Assert.True(layer.Weight.Prunable);
        Assert.False(layer.Bias.Prunable);
        Assert.Equal([layer.Weight, layer.Bias], layer.Parameters);
        Assert.Equal([19], layer.OutputShape([37]));
    }

    [Fact]
    public void Linear_backward_without_input_gradient_returns_null_but_writes_parameter_gradients()
    {
        var rng = new Random(3);
        CheckParameterGradientsWithoutInputGradient(Random(37, 19, rng), [5, 37], rng);
    }

    [Fact]
    public void Linear_backward_without_forward_throws()
    {
        var layer = new Linear("fc7", 3, 2);
        var e = Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 2), true));
        Assert.Contains("fc7", e.Message);
    }

    [Fact]
    public void Linear_backward_after_an_inference_forward_throws()
    {
        var layer = new Linear("fc7", 3, 2);
        layer.Forward(new Tensor(1, 3), training: true);
        layer.Forward(new Tensor(1, 3), training: false);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 2), true));
    }

    [Theory]
    [InlineData(new[] { 2, 4 })]
    [InlineData(new[] { 2, 3, 1 })]
    [InlineData(new[] { 3 })]
    public void Linear_forward_with_a_wrong_input_shape_throws_naming_the_layer(int[] shape)
    {
        var layer = new Linear("fc9", 3, 2);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor(shape), training: false));
        Assert.Contains("fc9", e.Message);
    }

    [Fact]
    public void Linear_output_shape_rejects_a_wrong_input_naming_the_layer()
    {
        var layer = new Linear("fc9", 3, 2);
        Assert.Contains("fc9", Assert.Throws<ArgumentException>(() => layer.OutputShape([4])).Message);
        Assert.Contains("fc9", Assert.Throws<ArgumentException>(() => layer.OutputShape([1, 3])).Message);
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(3, 0)]
    [InlineData(-1, 3)]
    public void Linear_rejects_non_positive_sizes(int inputs, int outputs)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear("fc", inputs, outputs));
    }
}
