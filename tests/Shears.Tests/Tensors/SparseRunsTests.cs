using Shears.Tensors;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Tensors;

public sealed class SparseRunsTests
{
    private static float[] Values(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    /// <summary>
    /// Every length from empty to 300: whole blocks of 8 vectors, each remainder of 1 to 7 vectors and the scalar
    /// tail, with the widest vectors the machine has. Each output is the fused multiply-add chain over the taps in order (the
    /// contract that makes the block sizes a speed choice only), so it equals that chain to the bit, and a double
    /// reference to rounding.
    /// </summary>
    [Fact]
    public unsafe void Accumulate_is_each_outputs_fused_chain_over_the_taps_in_order_at_every_length()
    {
        var rng = new Random(5);
        const int taps = 7, span = 320;
        var source = Values(rng, span + 40);
        int[] offsets = [0, 3, 17, 40, 1, 33, 8];
        var weights = Values(rng, taps);
        for (int length = 0; length <= 300; length++)
        {
            var acc = new float[length + 16];
            acc.AsSpan().Fill(float.NaN);
            fixed (float* src = source, value = weights, output = acc)
            fixed (int* offset = offsets)
                SparseRuns.Accumulate(src, offset, value, taps, output, length);
            var expected = new double[length];
            for (int q = 0; q < length; q++)
            {
                float chain = 0;
                for (int t = 0; t < taps; t++)
                {
                    chain = MathF.FusedMultiplyAdd(source[offsets[t] + q], weights[t], chain);
                    expected[q] += (double)source[offsets[t] + q] * weights[t];
                }
                Assert.Equal(BitConverter.SingleToInt32Bits(chain), BitConverter.SingleToInt32Bits(acc[q]));
            }
            Tolerance.AssertClose(acc.AsSpan(0, length).ToArray(), expected, atol: 1e-6, rtol: 1e-6);
            Assert.All(acc.Skip(length), v => Assert.True(float.IsNaN(v)));   // nothing written past the run
        }
    }

    [Fact]
    public unsafe void Accumulate_of_no_taps_is_zero()
    {
        var source = new float[64];
        var acc = new float[40];
        acc.AsSpan().Fill(float.NaN);
        fixed (float* src = source, output = acc)
            SparseRuns.Accumulate(src, null, null, 0, output, 40);
        Assert.All(acc, v => Assert.Equal(0f, v));
    }

    /// <summary>
    /// Every tap count from 1 to 19 (two whole blocks of 8 and each remainder), runs of whole vectors and runs that
    /// end inside one, started from accumulators that already hold something: each tap's lanes, summed, give its
    /// dot product with the shared run plus what it held, against a double reference. Past the run both inputs
    /// hold NaN up to the next whole vector, and none of it gets in; the accumulators past the taps are untouched.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(224)]
    public unsafe void AccumulateProducts_adds_each_taps_dot_product_with_the_shared_run(int length)
    {
        var rng = new Random(11 + length);
        int lanes = SparseRuns.ProductLanes, padded = (length + lanes - 1) / lanes * lanes;
        var run = Values(rng, padded);
        for (int q = length; q < padded; q++) run[q] = float.NaN;
        for (int count = 1; count <= 19; count++)
        {
            var offsets = Enumerable.Range(0, count).Select(_ => rng.Next(0, 64)).ToArray();
            var source = Values(rng, 64 + padded);
            for (int q = offsets.Max() + length; q < source.Length; q++) source[q] = float.NaN;
            var start = Values(rng, count * lanes);
            var acc = start.Concat(Enumerable.Repeat(float.NaN, lanes)).ToArray();
            fixed (float* d = run, src = source, a = acc)
            fixed (int* offset = offsets)
                SparseRuns.AccumulateProducts(d, src, offset, count, a, length);
            var sums = new float[count];
            var expected = new double[count];
            for (int t = 0; t < count; t++)
            {
                fixed (float* a = acc) sums[t] = SparseRuns.SumLanes(a + t * lanes);
                for (int l = 0; l < lanes; l++) expected[t] += start[t * lanes + l];
                for (int q = 0; q < length; q++) expected[t] += (double)run[q] * source[offsets[t] + q];
            }
            Tolerance.AssertClose(sums, expected, atol: 1e-5, rtol: 1e-5);
            Assert.All(acc.Skip(count * lanes), v => Assert.True(float.IsNaN(v)));
        }
    }

    /// <summary>Rows of every width up to 40 (scalar, one 8-float vector and overlapping ones, 16-float vectors and overlapping ones), between guards.</summary>
    [Fact]
    public unsafe void Rows_are_copied_and_offset_exactly_without_touching_their_neighbours()
    {
        var rng = new Random(9);
        const int guard = 20;
        for (int n = 0; n <= 40; n++)
        {
            var source = Values(rng, n);
            float b = (float)(rng.NextDouble() - 0.5);
            var copied = new float[n + 2 * guard];
            var added = new float[n + 2 * guard];
            copied.AsSpan().Fill(-7f);
            added.AsSpan().Fill(-7f);
            fixed (float* src = source, c = copied, a = added)
            {
                SparseRuns.CopyRow(src, c + guard, n);
                SparseRuns.AddRow(src, b, a + guard, n);
            }
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(source[i], copied[guard + i]);
                Assert.Equal(BitConverter.SingleToInt32Bits(source[i] + b), BitConverter.SingleToInt32Bits(added[guard + i]));
            }
            for (int i = 0; i < guard; i++)
            {
                Assert.Equal(-7f, copied[i]);
                Assert.Equal(-7f, copied[guard + n + i]);
                Assert.Equal(-7f, added[i]);
                Assert.Equal(-7f, added[guard + n + i]);
            }
        }
    }
}
