using Shears.Tensors;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Tensors;

public sealed class GemmTests
{
    private static readonly int[] Sizes = [0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 127, 129, 255, 257];

    /// <summary>Micro-kernels that can run here: every path is tested, not only the fastest.</summary>
    private static IEnumerable<GemmKernelKind> Kernels() =>
        new[] { GemmKernelKind.Auto, GemmKernelKind.Avx512, GemmKernelKind.Avx2, GemmKernelKind.Scalar }.Where(Gemm.IsSupported);

    private static readonly Transpose[][] TransposePairs =
    [
        [Transpose.No, Transpose.No], [Transpose.No, Transpose.Yes], [Transpose.Yes, Transpose.No], [Transpose.Yes, Transpose.Yes],
    ];

    /// <summary>A spread of (m, n, k) mixing the sizes around every tile and vector edge.</summary>
    private static IEnumerable<(int M, int N, int K)> Shapes()
    {
        foreach (int s in Sizes) yield return (s, s, s);
        var rng = new Random(1234);
        for (int i = 0; i < 24; i++)
            yield return (Sizes[rng.Next(Sizes.Length)], Sizes[rng.Next(Sizes.Length)], Sizes[rng.Next(Sizes.Length)]);
        yield return (1, 257, 3);
        yield return (257, 1, 17);
        yield return (14, 32, 1);
        yield return (28, 64, 256);
        yield return (29, 65, 257);
        yield return (6, 16, 513);
    }

    public static TheoryData<string, Transpose, Transpose, int, int, int> AllCases()
    {
        var data = new TheoryData<string, Transpose, Transpose, int, int, int>();
        foreach (var kind in Kernels())
            foreach (var t in TransposePairs)
                foreach (var (m, n, k) in Shapes())
                    data.Add(kind.ToString(), t[0], t[1], m, n, k);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Gemm_matches_double_reference_for_all_transposes(string kernel, Transpose ta, Transpose tb, int m, int n, int k)
    {
        var kind = Enum.Parse<GemmKernelKind>(kernel);
        // Stride padding differs per case; the pad gaps hold NaN so reading them would poison the result.
        int seed = HashCode.Combine(m, n, k, (int)ta, (int)tb);
        var rng = new Random(seed);
        foreach (float beta in new[] { 0f, 1f, 0.5f })
        {
            var p = Problem.Create(rng, ta, tb, m, n, k, padA: rng.Next(4) * 3, padB: rng.Next(4) * 5, padC: rng.Next(3) * 2, beta);
            p.Run(kind);
            p.AssertMatchesReference();
        }
    }

    /// <summary>
    /// A packed A matches the double reference and gives bit-for-bit the results of the plain call (but for a C
    /// under half a panel wide, which the plain call computes transposed), for every kernel and transpose, on
    /// shapes with several k blocks (k past KC) and row blocks (m past MC), ragged edges, and two B in a row.
    /// </summary>
    [Theory]
    [InlineData(64, 196, 288)]
    [InlineData(288, 196, 64)]
    [InlineData(29, 65, 257)]
    [InlineData(7, 3, 700)]
    [InlineData(400, 33, 17)]
    [InlineData(1, 40, 1)]
    public void Gemm_with_a_packed_a_matches_the_plain_call_bit_for_bit(int m, int n, int k)
    {
        foreach (var kind in Kernels().Where(kind => kind != GemmKernelKind.Auto))
            foreach (var t in TransposePairs)
            {
                var rng = new Random(HashCode.Combine(m, n, k, (int)t[0], (int)t[1]));
                var packed = new GemmPackedA();
                var first = Problem.Create(rng, t[0], t[1], m, n, k, padA: 3, padB: 2, padC: 1, beta: 0.5f);
                packed.Pack(t[0], m, k, first.A, first.Lda, kind);
                foreach (var p in new[] { first, Problem.Create(rng, t[0], t[1], m, n, k, padA: 3, padB: 0, padC: 4, beta: 0f) })
                {
                    p.A = first.A;   // the same A, another B and C
                    var expected = (float[])p.C.Clone();
                    Gemm.Multiply(kind, t[0], t[1], m, n, k, p.A, p.Lda, p.B, p.Ldb, expected, p.Ldc, p.Beta);
                    Gemm.Multiply(packed, t[1], n, p.B, p.Ldb, p.C, p.Ldc, p.Beta);
                    p.AssertMatchesReference();
                    // A C narrower than half a panel is computed transposed by the plain call (other sums).
                    int panel = kind switch { GemmKernelKind.Avx512 => 32, GemmKernelKind.Avx2 => 16, _ => 8 };
                    if (2 * n >= panel || m <= n)
                        Assert.True(expected.AsSpan().SequenceEqual(p.C), $"{kind} {t[0]}{t[1]} {m}×{n}×{k}: packed A differs");
                }
            }
    }

    [Fact]
    public void Gemm_packed_a_rejects_bad_input_and_use_before_packing()
    {
        var packed = new GemmPackedA();
        Assert.Throws<InvalidOperationException>(() => Gemm.Multiply(packed, Transpose.No, 2, new float[4], 2, new float[4], 2));
        Assert.Throws<ArgumentException>(() => packed.Pack(Transpose.No, 3, 4, new float[11], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => packed.Pack(Transpose.No, 0, 4, new float[4], 4));
        packed.Pack(Transpose.No, 2, 3, new float[6], 3);
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(packed, Transpose.No, 2, new float[5], 2, new float[4], 2));
        Assert.Contains("'b'", e.Message);
    }

    public static TheoryData<Transpose, Transpose, int, int, int> NetworkShapes() => new()
    {
        { Transpose.No, Transpose.Yes, 128, 300, 784 },    // FC forward: X·Wᵀ
        { Transpose.Yes, Transpose.No, 300, 784, 128 },    // FC dW = dYᵀ·X
        { Transpose.No, Transpose.No, 128, 784, 300 },     // FC dX = dY·W
        { Transpose.No, Transpose.Yes, 128, 10, 100 },
        { Transpose.No, Transpose.No, 64, 25088, 288 },    // conv forward W·col
        { Transpose.No, Transpose.Yes, 64, 288, 25088 },   // conv dW = dY·colᵀ
        { Transpose.Yes, Transpose.No, 288, 25088, 64 },   // conv dcol = Wᵀ·dY
        { Transpose.No, Transpose.No, 32, 100352, 9 },     // conv1 forward
        { Transpose.No, Transpose.Yes, 32, 9, 100352 },    // conv1 dW: narrow C, computed transposed
        { Transpose.Yes, Transpose.Yes, 300, 5, 70 },
        { Transpose.Yes, Transpose.Yes, 400, 4130, 520 },  // several MC, NC and KC blocks at once
    };

    [Theory]
    [MemberData(nameof(NetworkShapes))]
    public void Gemm_matches_reference_on_network_shapes(Transpose ta, Transpose tb, int m, int n, int k)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        foreach (float beta in new[] { 0f, 1f })
        {
            var p = Problem.Create(rng, ta, tb, m, n, k, padA: 0, padB: 0, padC: 0, beta);
            p.Run(GemmKernelKind.Auto);
            p.AssertMatchesReferenceSampled(rng, samples: 3000);
        }
    }

    [Fact]
    public void Gemm_blocked_paths_of_the_portable_kernels_match_reference()
    {
        foreach (var kind in new[] { GemmKernelKind.Avx2, GemmKernelKind.Scalar }.Where(Gemm.IsSupported))
        {
            var rng = new Random(77);
            var p = Problem.Create(rng, Transpose.No, Transpose.Yes, 150, 1100, 530, padA: 1, padB: 2, padC: 3, beta: 1f);
            p.Run(kind);
            p.AssertMatchesReferenceSampled(rng, samples: 3000);
        }
    }

    [Fact]
    public void Gemm_with_beta_zero_ignores_NaN_and_infinity_in_C()
    {
        foreach (var kind in Kernels())
        {
            var rng = new Random(5);
            var p = Problem.Create(rng, Transpose.No, Transpose.No, 33, 65, 17, padA: 0, padB: 0, padC: 0, beta: 0f);
            p.C.AsSpan().Fill(float.NaN);
            p.C[3] = float.PositiveInfinity;
            p.C0 = (float[])p.C.Clone();
            p.Run(kind);
            p.AssertMatchesReference();
        }
    }

    [Fact]
    public void Gemm_with_k_zero_scales_C_by_beta()
    {
        float[] c = [1, 2, 3, 4, 5, 6];
        Gemm.Multiply(Transpose.No, Transpose.No, 2, 3, 0, [], 0, [], 3, c, 3, beta: 0.5f);
        Assert.Equal([0.5f, 1, 1.5f, 2, 2.5f, 3], c);
        c = [float.NaN, 2, 3, 4, 5, 6];
        Gemm.Multiply(Transpose.No, Transpose.No, 2, 3, 0, [], 0, [], 3, c, 3);
        Assert.Equal(new float[6], c);
    }

    [Fact]
    public void Gemm_with_empty_output_touches_nothing()
    {
        float[] c = [7f];
        Gemm.Multiply(Transpose.No, Transpose.No, 0, 5, 3, [], 3, new float[15], 5, c, 5);
        Gemm.Multiply(Transpose.No, Transpose.No, 5, 0, 3, new float[15], 3, [], 0, c, 0);
        Assert.Equal(7f, c[0]);
    }

    [Fact]
    public void Gemm_is_bitwise_deterministic_across_runs_and_thread_counts()
    {
        var rng = new Random(99);
        foreach (var (ta, tb, m, n, k) in new[] { (Transpose.No, Transpose.No, 64, 25088 / 4, 288), (Transpose.No, Transpose.Yes, 64, 288, 6000), (Transpose.Yes, Transpose.No, 300, 784, 128), (Transpose.No, Transpose.No, 700, 100, 300), (Transpose.No, Transpose.Yes, 40, 9, 30000) })
        {
            var p = Problem.Create(rng, ta, tb, m, n, k, 0, 0, 0, beta: 0f);
            p.Run(GemmKernelKind.Auto);
            float[] first = (float[])p.C.Clone();
            for (int rep = 0; rep < 3; rep++)
            {
                p.C.AsSpan(0, m * n).Fill(float.NaN);
                p.Run(GemmKernelKind.Auto);
                Tolerance.AssertBitwiseEqual(first, p.C, $"run {rep} of {m}×{n}×{k}");
            }
            int saved = ForkJoin.MaxDegreeOfParallelism;
            try
            {
                ForkJoin.MaxDegreeOfParallelism = 1;
                p.C.AsSpan(0, m * n).Fill(float.NaN);
                p.Run(GemmKernelKind.Auto);
            }
            finally { ForkJoin.MaxDegreeOfParallelism = saved; }
            Tolerance.AssertBitwiseEqual(first, p.C, $"single-threaded run of {m}×{n}×{k}");
        }
    }

    [Fact]
    public void Gemm_rejects_spans_too_short_for_their_strides()
    {
        var a = new float[6 * 5];
        var b = new float[5 * 4];
        var c = new float[6 * 4];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 6, 4, 5, a.AsSpan(1), 5, b, 4, c, 4));
        Assert.Contains("'a'", e.Message);
        Assert.Contains("29", e.Message);
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 6, 4, 5, a, 5, b.AsSpan(1), 4, c, 4));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 6, 4, 5, a, 5, b, 4, c.AsSpan(1), 4));
        // A stride past the row length needs more storage: (rows−1)·ld + cols.
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 6, 4, 5, a, 6, b, 4, c, 4));
        // Transposed A is stored k×m = 5×6, so lda must be at least 6.
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.Yes, Transpose.No, 6, 4, 5, a, 5, b, 4, c, 4));
        Gemm.Multiply(Transpose.Yes, Transpose.No, 6, 4, 5, a, 6, b, 4, c, 4);
    }

    [Fact]
    public void Gemm_rejects_negative_sizes_and_short_strides()
    {
        var x = new float[64];
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.No, Transpose.No, -1, 2, 2, x, 2, x.AsSpan(8), 2, x.AsSpan(16), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 2, -1, 2, x, 2, x.AsSpan(8), 2, x.AsSpan(16), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, -1, x, 2, x.AsSpan(8), 2, x.AsSpan(16), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 2, new float[4], 1, new float[4], 2, new float[4], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 2, new float[4], 2, new float[4], 2, new float[4], 1));
    }

    [Fact]
    public void Gemm_rejects_C_overlapping_A_or_B()
    {
        var x = new float[64];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 4, 4, 4, x, 4, x.AsSpan(32), 4, x.AsSpan(8), 4));
        Assert.Contains("overlap", e.Message);
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 4, 4, 4, x, 4, x.AsSpan(16), 4, x.AsSpan(20), 4));
        // A and B may share storage (A·Aᵀ); only C must be separate.
        Gemm.Multiply(Transpose.No, Transpose.Yes, 4, 4, 4, x, 4, x, 4, x.AsSpan(32), 4);
    }

    [Fact]
    public void Gemm_accumulates_exact_small_integer_products()
    {
        // Integers small enough that every partial sum is exact in float: the result must be exact.
        float[] a = [1, 2, 3, 4, 5, 6];          // 2×3
        float[] b = [7, 8, 9, 10, 11, 12];       // 3×2
        float[] c = [100, 200, 300, 400];
        Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 3, a, 3, b, 2, c, 2, beta: 1f);
        Assert.Equal([158f, 264f, 439f, 554f], c);
    }

    /// <summary>One GEMM call with its operands laid out at the given strides, and a double reference.</summary>
    private sealed class Problem
    {
        public required Transpose TA, TB;
        public required int M, N, K, Lda, Ldb, Ldc;
        public required float Beta;
        public required float[] B, C, C0;
        public required float[] A;

        public static Problem Create(Random rng, Transpose ta, Transpose tb, int m, int n, int k, int padA, int padB, int padC, float beta)
        {
            (int rowsA, int colsA) = ta == Transpose.No ? (m, k) : (k, m);
            (int rowsB, int colsB) = tb == Transpose.No ? (k, n) : (n, k);
            int lda = colsA + padA, ldb = colsB + padB, ldc = n + padC;
            var p = new Problem
            {
                TA = ta, TB = tb, M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, Beta = beta,
                A = Fill(rng, rowsA, colsA, lda, float.NaN),
                B = Fill(rng, rowsB, colsB, ldb, float.NaN),
                C = Fill(rng, m, n, ldc, 1234.5f),
                C0 = [],
            };
            p.C0 = (float[])p.C.Clone();
            return p;
        }

        private static float[] Fill(Random rng, int rows, int cols, int ld, float gap)
        {
            int len = rows == 0 ? 0 : (rows - 1) * ld + cols;
            var x = new float[len + 3];   // a little slack past the end, which must not be touched either
            x.AsSpan().Fill(gap);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    x[i * ld + j] = (float)(rng.NextDouble() * 2 - 1);
            return x;
        }

        public void Run(GemmKernelKind kind) =>
            Gemm.Multiply(kind, TA, TB, M, N, K, A, Lda, B, Ldb, C, Ldc, Beta);

        private double Ref(int i, int j)
        {
            double s = 0;
            for (int p = 0; p < K; p++)
            {
                double x = TA == Transpose.No ? A[i * Lda + p] : A[p * Lda + i];
                double y = TB == Transpose.No ? B[p * Ldb + j] : B[j * Ldb + p];
                s += x * y;
            }
            return Beta == 0f ? s : s + (double)Beta * C0[i * Ldc + j];
        }

        private double Atol => 1e-4 * Math.Sqrt(Math.Max(K, 1));

        public void AssertMatchesReference()
        {
            var actual = new float[M * N];
            var expected = new double[M * N];
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    actual[i * N + j] = C[i * Ldc + j];
                    expected[i * N + j] = Ref(i, j);
                }
            Tolerance.AssertClose(actual, expected, Atol, 1e-4);
            AssertGapsUntouched();
        }

        public void AssertMatchesReferenceSampled(Random rng, int samples)
        {
            var actual = new float[samples];
            var expected = new double[samples];
            for (int s = 0; s < samples; s++)
            {
                // Always include the four corners, where the edge tiles are.
                int i = s switch { 0 or 1 => 0, 2 or 3 => M - 1, _ => rng.Next(M) };
                int j = s switch { 0 or 2 => 0, 1 or 3 => N - 1, _ => rng.Next(N) };
                actual[s] = C[i * Ldc + j];
                expected[s] = Ref(i, j);
            }
            Tolerance.AssertClose(actual, expected, Atol, 1e-4);
            for (int i = 0; i < C.Length; i++)
                if (!float.IsFinite(C[i])) throw new Xunit.Sdk.XunitException($"C[{i}] is {C[i]}");
            AssertGapsUntouched();
        }

        private void AssertGapsUntouched()
        {
            for (int idx = 0; idx < C.Length; idx++)
            {
                bool inside = M > 0 && N > 0 && idx / Ldc < M && idx % Ldc < N;
                if (!inside && BitConverter.SingleToInt32Bits(C[idx]) != BitConverter.SingleToInt32Bits(C0[idx]))
                    throw new Xunit.Sdk.XunitException($"C[{idx}] outside the {M}×{N} result (ldc {Ldc}) was changed to {C[idx]}.");
            }
        }
    }
}
