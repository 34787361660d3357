using BenchmarkDotNet.Attributes;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>The register-blocked micro-kernel alone on L1-resident packed panels: the ceiling for the GEMM.</summary>
public sealed class KernelCase : IWorkload
{
    public const int Calls = 1000;

    public KernelCase(string name, int rows, int columns, int kc)
    {
        Name = name; Rows = rows; Columns = columns; Kc = kc;
    }

    public string Name { get; }
    public int Rows { get; }
    public int Columns { get; }
    public int Kc { get; }
    public int Threads => 1;
    public double Flops => 2.0 * Rows * Columns * Kc * Calls;
    public double Bytes => 0;

    public override string ToString() => $"{Name} {Rows}x{Columns} kc{Kc}";
}

[MemoryDiagnoser]
public unsafe class KernelBenchmarks
{
    private float* _a, _b, _c;

    public static IEnumerable<KernelCase> Cases()
    {
        var kind = Gemm.BestKernel;
        if (kind == GemmKernelKind.Avx512)
        {
            yield return new KernelCase("avx512", Avx512Kernel.MR, Avx512Kernel.NR, 256);
            yield return new KernelCase("avx512", 8, Avx512Kernel.NR, 256);
        }
        else if (kind == GemmKernelKind.Avx2)
        {
            yield return new KernelCase("avx2", Avx2Kernel.MR, Avx2Kernel.NR, 256);
        }
        else
        {
            yield return new KernelCase("scalar", ScalarKernel.MR, ScalarKernel.NR, 256);
        }
    }

    [ParamsSource(nameof(Cases))]
    public KernelCase Case { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        _a = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(16 * 1024 * sizeof(float), 64);
        _b = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(32 * 1024 * sizeof(float), 64);
        _c = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(16 * 32 * sizeof(float), 64);
        var rng = new Random(1);
        for (int i = 0; i < 16 * 1024; i++) _a[i] = (float)rng.NextDouble();
        for (int i = 0; i < 32 * 1024; i++) _b[i] = (float)rng.NextDouble();
        new Span<float>(_c, 16 * 32).Clear();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_a);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_b);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_c);
    }

    [Benchmark]
    public void MicroKernel()
    {
        int rows = Case.Rows, kc = Case.Kc;
        switch (Case.Name)
        {
            case "avx512":
                for (int i = 0; i < KernelCase.Calls; i++) Avx512Kernel.Tile(rows, kc, _a, _b, Case.Columns, _c, 32, 1f);
                break;
            case "avx2":
                for (int i = 0; i < KernelCase.Calls; i++) Avx2Kernel.Tile(rows, kc, _a, _b, Case.Columns, _c, 32, 1f);
                break;
            default:
                for (int i = 0; i < KernelCase.Calls; i++) ScalarKernel.Tile(rows, kc, _a, _b, Case.Columns, _c, 32, 1f);
                break;
        }
    }
}
