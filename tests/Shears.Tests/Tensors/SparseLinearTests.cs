using Shears.Nn;
using Shears.Tensors;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Tensors;

public sealed class SparseLinearTests
{
    // Batches of 1, 17 and 130 leave transposed rows padded to 16, 32 and 144 (vector tails); FCN-2's fc1 shape;
    // outputs fewer than a partition's rows, and densities from empty to full.
    public static TheoryData<int, int, int, double> Cases() => new()
    {
        { 128, 784, 300, 0.03 },
        { 17, 7, 3, 0.5 },
        { 1, 33, 20, 0.2 },
        { 130, 100, 10, 0.1 },
        { 5, 9, 40, 1.0 },
        { 9, 12, 5, 0.0 },
    };

    private static float[] Values(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    private static (float[] Weight, float[] Keep) Pruned(Random rng, int n, double density)
    {
        var weight = Values(rng, n);
        var keep = new float[n];
        for (int i = 0; i < n; i++)
        {
            keep[i] = rng.NextDouble() < density ? 1f : 0f;
            weight[i] *= keep[i];
        }
        int firstKept = Array.IndexOf(keep, 1f);
        if (firstKept >= 0) weight[firstKept] = 0f;   // kept, yet zero: still gets its gradient
        return (weight, keep);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Products_match_a_double_reference(int batch, int inputs, int outputs, double density)
    {
        var rng = new Random(batch * 7 + inputs);
        var x = Values(rng, batch * inputs);
        var dy = Values(rng, batch * outputs);
        var bias = Values(rng, outputs);
        var (w, keep) = Pruned(rng, outputs * inputs, density);
        float[] y = new float[batch * outputs], dx = new float[batch * inputs], dw = new float[outputs * inputs];
        y.AsSpan().Fill(float.NaN);
        dx.AsSpan().Fill(float.NaN);
        dw.AsSpan().Fill(float.NaN);
        SparseLinear.Forward(x, w, bias, batch, inputs, outputs, y);
        SparseLinear.InputGradient(dy, w, batch, inputs, outputs, dx);
        SparseLinear.WeightGradient(dy, x, keep, batch, inputs, outputs, dw);

        var ey = new double[y.Length];
        var edx = new double[dx.Length];
        var edw = new double[dw.Length];
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < outputs; o++)
            {
                double s = bias[o];
                for (int i = 0; i < inputs; i++)
                {
                    s += (double)w[o * inputs + i] * x[b * inputs + i];
                    edx[b * inputs + i] += (double)dy[b * outputs + o] * w[o * inputs + i];
                    if (keep[o * inputs + i] != 0) edw[o * inputs + i] += (double)dy[b * outputs + o] * x[b * inputs + i];
                }
                ey[b * outputs + o] = s;
            }
        Tolerance.AssertClose(y, ey, atol: 1e-5, rtol: 1e-5);
        Tolerance.AssertClose(dx, edx, atol: 1e-5, rtol: 1e-5);
        Tolerance.AssertClose(dw, edw, atol: 1e-4, rtol: 1e-5);
        for (int j = 0; j < dw.Length; j++)
            if (keep[j] == 0) Assert.Equal(0f, dw[j]);
    }

    [Fact]
    public void Linear_takes_the_sparse_path_for_a_pruned_layer_and_holds_its_mask()
    {
        const int batch = 23, inputs = 784, outputs = 300;
        var rng = new Random(11);
        var layer = new Linear("fc", inputs, outputs);
        Values(rng, inputs * outputs).CopyTo(layer.Weight.Value.Span);
        Values(rng, outputs).CopyTo(layer.Bias.Value.Span);
        var (_, keep) = Pruned(rng, inputs * outputs, 0.01);
        layer.Weight.SetMask(new Tensor(keep, outputs, inputs));
        Assert.True(SparseLinear.Pays(inputs, outputs, Density.CountNonzero(layer.Weight.Value.ReadOnlySpan), gradient: true));
        var x = new Tensor(Values(rng, batch * inputs), batch, inputs);
        var dy = new Tensor(Values(rng, batch * outputs), batch, outputs);

        var y = layer.Forward(x, training: true).ReadOnlySpan.ToArray();
        var dx = layer.Backward(dy, needInputGradient: true)!.ReadOnlySpan.ToArray();

        float[] ey = new float[batch * outputs], edx = new float[batch * inputs], edw = new float[inputs * outputs];
        SparseLinear.Forward(x.ReadOnlySpan, layer.Weight.Value.ReadOnlySpan, layer.Bias.Value.ReadOnlySpan, batch, inputs, outputs, ey);
        SparseLinear.InputGradient(dy.ReadOnlySpan, layer.Weight.Value.ReadOnlySpan, batch, inputs, outputs, edx);
        SparseLinear.WeightGradient(dy.ReadOnlySpan, x.ReadOnlySpan, keep, batch, inputs, outputs, edw);
        Assert.Equal(ey, y);
        Assert.Equal(edx, dx);
        Assert.Equal(edw, layer.Weight.Gradient.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void Results_are_bit_for_bit_the_same_on_one_thread_and_on_all()
    {
        const int batch = 70, inputs = 90, outputs = 80;
        var rng = new Random(12);
        var x = Values(rng, batch * inputs);
        var dy = Values(rng, batch * outputs);
        var bias = Values(rng, outputs);
        var (w, keep) = Pruned(rng, inputs * outputs, 0.1);
        (float[], float[], float[]) Run()
        {
            float[] y = new float[batch * outputs], dx = new float[batch * inputs], dw = new float[outputs * inputs];
            SparseLinear.Forward(x, w, bias, batch, inputs, outputs, y);
            SparseLinear.InputGradient(dy, w, batch, inputs, outputs, dx);
            SparseLinear.WeightGradient(dy, x, keep, batch, inputs, outputs, dw);
            return (y, dx, dw);
        }
        var (all, one) = (Run(), OneThread.Run(Run));
        Assert.Equal(all.Item1, one.Item1);
        Assert.Equal(all.Item2, one.Item2);
        Assert.Equal(all.Item3, one.Item3);
    }

    [Fact]
    public void The_sparse_path_pays_for_a_wide_pruned_layer_but_not_for_a_dense_one_or_one_with_few_outputs()
    {
        Assert.True(SparseLinear.Pays(784, 300, 784 * 300 / 100, gradient: false));       // FCN-2's fc1 at 1%
        Assert.True(SparseLinear.Pays(784, 300, 784 * 300 / 100, gradient: true));
        Assert.False(SparseLinear.Pays(784, 300, 784 * 300 / 5, gradient: false));        // at 20%
        Assert.False(SparseLinear.Pays(3136, 10, 3136 * 10 / 50, gradient: false));       // CNN-3's fc at 2%
        Assert.False(SparseLinear.Pays(784, 300, 784 * 300 * 4 / 100, gradient: true));   // 4%: forward only
        Assert.True(SparseLinear.Pays(784, 300, 784 * 300 * 4 / 100, gradient: false));
    }

    [Fact]
    public void Bad_arguments_are_rejected_naming_them()
    {
        var e = Assert.Throws<ArgumentException>(() => SparseLinear.Forward(new float[5], new float[6], new float[3], 2, 3, 2, new float[4]));
        Assert.Contains("x", e.Message);
        e = Assert.Throws<ArgumentException>(() => SparseLinear.WeightGradient(new float[4], new float[6], new float[5], 2, 3, 2, new float[6]));
        Assert.Contains("keep", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseLinear.InputGradient(new float[4], new float[6], 2, 0, 2, new float[6]));
    }

    [Fact]
    public void Density_and_nonzero_positions_count_NaN_and_skip_signed_zeros_across_vector_tails()
    {
        var values = new float[37];
        int[] expected = [0, 15, 16, 17, 31, 36];
        foreach (int j in expected) values[j] = 1f;
        values[16] = float.NaN;
        values[5] = -0f;
        Assert.Equal(expected.Length, Density.CountNonzero(values));
        Assert.Equal(expected.Length / 37.0, Density.Of(values), 12);
        Assert.Equal(0, Density.Of([]));
        var indices = new int[37];
        int n = Density.NonzeroIndices(values, indices);
        Assert.Equal(expected, indices[..n]);
    }
}
