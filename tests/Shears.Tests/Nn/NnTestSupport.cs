using Shears.Nn;

namespace Shears.Tests.Nn;

/// <summary>A double-precision reference forward: input and parameter values in, output out (same layout as the layer's).</summary>
internal delegate double[] ReferenceForward(double[] input, IReadOnlyList<double[]> parameters);

/// <summary>
/// Helpers for the layer tests: seeded random data, |x − y| ≤ atol + rtol·|y| comparisons, and a gradient check
/// that compares a float layer's forward and backward with a naive double reference and central finite differences.
/// </summary>
internal static class NnTestSupport
{
    public const double Atol = 1e-4;
    public const double Rtol = 1e-3;
    public const double Step = 1e-5;

    /// <summary>Uniform in [−scale, scale).</summary>
    public static float[] RandomFloats(Random rng, int count, double scale = 1.0)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return values;
    }

    /// <summary>Random signs and magnitudes in [min, 1): nowhere near a ReLU kink.</summary>
    public static float[] RandomAwayFromZero(Random rng, int count, double min = 0.05)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            double magnitude = min + (1 - min) * rng.NextDouble();
            values[i] = (float)(rng.Next(2) == 0 ? -magnitude : magnitude);
        }
        return values;
    }

    /// <summary>A shuffled grid of distinct values spaced far apart compared with the finite-difference step (no ties for max pooling).</summary>
    public static float[] DistinctValues(Random rng, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((i - count / 2.0) / count * 2);
        rng.Shuffle(values);
        return values;
    }

    public static void Fill(Parameter parameter, Random rng, double scale = 1.0) =>
        RandomFloats(rng, parameter.Count, scale).CopyTo(parameter.Value.Span);

    public static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = values[i];
        return result;
    }

    public static bool IsClose(double expected, double actual, double atol, double rtol) =>
        Math.Abs(actual - expected) <= atol + rtol * Math.Abs(expected);

    public static void AssertClose(double expected, double actual, string what, double atol = Atol, double rtol = Rtol)
    {
        if (!IsClose(expected, actual, atol, rtol))
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R} (|diff| {Math.Abs(actual - expected):E3} > {atol} + {rtol}·|expected|).");
    }

    public static void AssertAllClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, string what, double atol = Atol, double rtol = Rtol)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} values, got {actual.Length}.");
        for (int i = 0; i < expected.Length; i++)
            if (!IsClose(expected[i], actual[i], atol, rtol))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (|diff| {Math.Abs(actual[i] - expected[i]):E3} > {atol} + {rtol}·|expected|).");
    }

    /// <summary>∂loss/∂point[i] by (loss(+h) − loss(−h)) / 2h for every i, perturbing <paramref name="point"/> in place and restoring it.</summary>
    public static double[] CentralDifferences(double[] point, Func<double> loss, double h = Step)
    {
        var gradient = new double[point.Length];
        for (int i = 0; i < point.Length; i++)
        {
            double saved = point[i];
            point[i] = saved + h;
            double plus = loss();
            point[i] = saved - h;
            double minus = loss();
            point[i] = saved;
            gradient[i] = (plus - minus) / (2 * h);
        }
        return gradient;
    }

    public static double Dot(double[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>
    /// Runs <paramref name="layer"/> forward on <paramref name="input"/> (after a warm-up pass with a larger batch, so
    /// reused workspaces hold stale data and have spare room) and compares with <paramref name="reference"/>; then
    /// back-propagates a random upstream gradient r and compares the input gradient and every parameter gradient with
    /// central finite differences of L = Σ reference(x, θ)·r, all in double.
    /// </summary>
    public static void CheckForwardAndGradients(Layer layer, int[] inputShape, float[] input, ReferenceForward reference, Random rng,
        double atol = Atol, double rtol = Rtol)
    {
        // Warm-up with one more sample and unrelated data: the checked pass must not depend on what it leaves behind.
        var warmShape = (int[])inputShape.Clone();
        warmShape[0]++;
        var warmInput = new Tensor(RandomFloats(rng, Product(warmShape)), warmShape);
        var warmOutput = layer.Forward(warmInput, training: true);
        layer.Backward(new Tensor(RandomFloats(rng, warmOutput.Length), warmOutput.Shape.ToArray()), needInputGradient: true);

        var x = new Tensor((float[])input.Clone(), inputShape);
        var xd = ToDouble(input);
        var theta = layer.Parameters.Select(p => ToDouble(p.Value.ReadOnlySpan)).ToList();

        var y = layer.Forward(x, training: true);
        var expected = reference(xd, theta);
        Assert.Equal(expected.Length, y.Length);
        Assert.Equal(inputShape[0], y.Dim(0));
        AssertAllClose(expected, y.ReadOnlySpan, $"{layer.Name} forward", atol, rtol);

        var r = RandomFloats(rng, y.Length);
        var dx = layer.Backward(new Tensor((float[])r.Clone(), y.Shape.ToArray()), needInputGradient: true);
        Assert.NotNull(dx);
        Assert.True(dx.ShapeEquals(inputShape), $"{layer.Name}: input gradient {dx} does not have the input's shape [{string.Join(", ", inputShape)}].");

        double Loss() => Dot(reference(xd, theta), r);
        AssertAllClose(CentralDifferences(xd, Loss), dx.ReadOnlySpan, $"{layer.Name} dL/dx", atol, rtol);
        for (int k = 0; k < theta.Count; k++)
        {
            var p = layer.Parameters[k];
            AssertAllClose(CentralDifferences(theta[k], Loss), p.Gradient.ReadOnlySpan, $"{layer.Name} dL/d{p.Name}", atol, rtol);
        }
    }

    /// <summary>Backward with needInputGradient: false returns null yet writes the same parameter gradients (bit for bit).</summary>
    public static void CheckParameterGradientsWithoutInputGradient(Layer layer, int[] inputShape, Random rng)
    {
        var x = new Tensor(RandomFloats(rng, Product(inputShape)), inputShape);
        var y = layer.Forward(x, training: true);
        var dy = new Tensor(RandomFloats(rng, y.Length), y.Shape.ToArray());
        Assert.NotNull(layer.Backward(dy, needInputGradient: true));
        var expected = layer.Parameters.Select(p => p.Gradient.ReadOnlySpan.ToArray()).ToList();

        foreach (var p in layer.Parameters) p.Gradient.Span.Fill(float.NaN);
        layer.Forward(x, training: true);
        Assert.Null(layer.Backward(dy, needInputGradient: false));
        for (int k = 0; k < expected.Count; k++)
            Assert.Equal(expected[k], layer.Parameters[k].Gradient.ReadOnlySpan.ToArray());
    }

    public static int Product(ReadOnlySpan<int> shape)
    {
        int n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }
}
