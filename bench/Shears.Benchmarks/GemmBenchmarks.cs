using BenchmarkDotNet.Attributes;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>One GEMM shape at one thread count.</summary>
public sealed class GemmCase : IWorkload
{
    public GemmCase(string name, Transpose transA, Transpose transB, int m, int n, int k, int threads)
    {
        Name = name; TransA = transA; TransB = transB; M = m; N = n; K = k; Threads = threads;
    }

    public string Name { get; }
    public Transpose TransA { get; }
    public Transpose TransB { get; }
    public int M { get; }
    public int N { get; }
    public int K { get; }
    public int Threads { get; }

    public double Flops => 2.0 * M * N * K;

    public double Bytes => 4.0 * ((double)M * K + (double)K * N + (double)M * N);

    public override string ToString() =>
        $"{Name} {M}x{N}x{K} {(TransA == Transpose.Yes ? 'T' : 'N')}{(TransB == Transpose.Yes ? 'T' : 'N')} t{Threads}";
}

/// <summary>
/// SGEMM on the shapes the networks train with (batch 128), plus 1024³ and an odd 6·512+7 cube, on one thread
/// and on all cores. Data is seeded; C is overwritten (beta 0) as in the forward and gradient passes.
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private int _savedThreads;

    public static IEnumerable<GemmCase> Cases()
    {
        var shapes = new (string Name, Transpose TA, Transpose TB, int M, int N, int K)[]
        {
            ("cube", Transpose.No, Transpose.No, 1024, 1024, 1024),
            ("odd-cube", Transpose.No, Transpose.No, 6 * 512 + 7, 6 * 512 + 7, 6 * 512 + 7),
            ("fc1-fwd", Transpose.No, Transpose.Yes, 128, 300, 784),
            ("fc2-fwd", Transpose.No, Transpose.Yes, 128, 100, 300),
            ("fc3-fwd", Transpose.No, Transpose.Yes, 128, 10, 100),
            ("fc1-dW", Transpose.Yes, Transpose.No, 300, 784, 128),
            ("fc1-dX", Transpose.No, Transpose.No, 128, 784, 300),
            ("conv2-fwd", Transpose.No, Transpose.No, 64, 25088, 288),
            ("conv2-dW", Transpose.No, Transpose.Yes, 64, 288, 25088),
            ("conv2-dcol", Transpose.Yes, Transpose.No, 288, 25088, 64),
            ("conv1-fwd", Transpose.No, Transpose.No, 32, 100352, 9),
            ("conv1-dW", Transpose.No, Transpose.Yes, 32, 9, 100352),
        };
        int[] threads = Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];
        foreach (var s in shapes)
            foreach (int t in threads)
                yield return new GemmCase(s.Name, s.TA, s.TB, s.M, s.N, s.K, t);
    }

    [ParamsSource(nameof(Cases))]
    public GemmCase Case { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        _a = Fill(rng, Case.M * Case.K);
        _b = Fill(rng, Case.K * Case.N);
        _c = new float[Case.M * Case.N];
        _savedThreads = ForkJoin.MaxDegreeOfParallelism;
        ForkJoin.MaxDegreeOfParallelism = Case.Threads;
    }

    [GlobalCleanup]
    public void Cleanup() => ForkJoin.MaxDegreeOfParallelism = _savedThreads;

    [Benchmark]
    public void Sgemm()
    {
        var c = Case;
        int lda = c.TransA == Transpose.No ? c.K : c.M;
        int ldb = c.TransB == Transpose.No ? c.N : c.K;
        Gemm.Multiply(c.TransA, c.TransB, c.M, c.N, c.K, _a, lda, _b, ldb, _c, c.N);
    }

    internal static float[] Fill(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
