using System.Runtime.CompilerServices;

namespace Shears.Tensors;

/// <summary>
/// A register-blocked GEMM micro-kernel plus the blocking sizes that suit it. The engine
/// (<see cref="GemmEngine"/>) is generic over this interface so the JIT specialises every packing loop and
/// block size for one kernel; adding an ISA means adding one struct, not another copy of the engine.
/// </summary>
internal interface IGemmKernel
{
    /// <summary>Rows of C per tile; packed A micro-panels hold MR floats per k step.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of C per tile; packed B micro-panels hold NR floats per k step.</summary>
    static abstract int NR { get; }

    /// <summary>Largest k block: one kc×NR B micro-panel should stay in L1.</summary>
    static abstract int KC { get; }

    /// <summary>Rows of A packed at once (a multiple of MR): the MC×KC block should stay in L2.</summary>
    static abstract int MC { get; }

    /// <summary>Columns of B packed at once (a multiple of NR): the KC×NC block lives in L2/L3.</summary>
    static abstract int NC { get; }

    /// <summary>
    /// C[0..rows, 0..NR) = A·B + beta·C over <paramref name="kc"/> steps, where A is a packed micro-panel
    /// (MR floats per step, first <paramref name="rows"/> live) and B holds NR floats per step,
    /// <paramref name="ldb"/> floats apart: a packed panel (ldb = NR) or, for a plain k×n B, the matrix itself.
    /// When beta is 0, C is not read. All NR columns are written.
    /// </summary>
    static abstract unsafe void Tile(int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta);

    /// <summary>
    /// As <see cref="Tile"/> for the first NR/2 columns only (same operations per element, so the same results):
    /// a last panel at most half full costs half a tile instead of a whole one.
    /// </summary>
    static abstract unsafe void NarrowTile(int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta);
}

/// <summary>A compile-time integer: generic struct arguments let the JIT drop the dead rows of a tile.</summary>
internal interface IConstant
{
    static abstract int Value { get; }
}

internal readonly struct N1 : IConstant { public static int Value => 1; }
internal readonly struct N2 : IConstant { public static int Value => 2; }
internal readonly struct N3 : IConstant { public static int Value => 3; }
internal readonly struct N4 : IConstant { public static int Value => 4; }
internal readonly struct N5 : IConstant { public static int Value => 5; }
internal readonly struct N6 : IConstant { public static int Value => 6; }
internal readonly struct N7 : IConstant { public static int Value => 7; }
internal readonly struct N8 : IConstant { public static int Value => 8; }
internal readonly struct N9 : IConstant { public static int Value => 9; }
internal readonly struct N10 : IConstant { public static int Value => 10; }
internal readonly struct N11 : IConstant { public static int Value => 11; }
internal readonly struct N12 : IConstant { public static int Value => 12; }
internal readonly struct N13 : IConstant { public static int Value => 13; }
internal readonly struct N14 : IConstant { public static int Value => 14; }

/// <summary>
/// Portable fallback: a 4×8 tile with plain multiply-then-add (no fused operations), for hardware with
/// neither Vector512 nor Vector256+FMA. Slow but exact to its own definition and deterministic.
/// </summary>
internal readonly struct ScalarKernel : IGemmKernel
{
    public static int MR => 4;
    public static int NR => 8;
    public static int KC => 256;
    public static int MC => 64;
    public static int NC => 1024;

    public static unsafe void Tile(int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta) =>
        Run(8, rows, kc, a, b, ldb, c, ldc, beta);

    public static unsafe void NarrowTile(int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta) =>
        Run(4, rows, kc, a, b, ldb, c, ldc, beta);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Run(int width, int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta)
    {
        const int mr = 4, nr = 8;
        float* acc = stackalloc float[mr * nr];
        new Span<float>(acc, mr * nr).Clear();
        for (nint p = 0; p < kc; p++)
        {
            for (int r = 0; r < rows; r++)
            {
                float av = a[r];
                float* accRow = acc + r * nr;
                for (int j = 0; j < width; j++)
                    accRow[j] += av * b[j];
            }
            a += mr;
            b += ldb;
        }
        for (int r = 0; r < rows; r++)
        {
            float* cr = c + r * ldc;
            float* accRow = acc + r * nr;
            if (beta == 0f)
                for (int j = 0; j < width; j++) cr[j] = accRow[j];
            else if (beta == 1f)
                for (int j = 0; j < width; j++) cr[j] = accRow[j] + cr[j];
            else
                for (int j = 0; j < width; j++) cr[j] = accRow[j] + beta * cr[j];
        }
    }
}
