// The tile bodies below are mechanical (one line per row of the tile) and were written by a small generator
// so that every row is identical: change the pattern for all rows, never one line by hand.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shears.Tensors;

/// <summary>
/// AVX2/FMA micro-kernel for machines without fast Vector512: a 6×16 tile in 12 ymm accumulators.
/// </summary>
internal readonly struct Avx2Kernel : IGemmKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static int KC => 256;
    public static int MC => 6 * 24;
    public static int NC => 4096;

    public static unsafe void Tile(int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta)
    {
        switch (rows)
        {
            case 1: Tile6x16<N1>(kc, a, b, ldb, c, ldc, beta); break;
            case 2: Tile6x16<N2>(kc, a, b, ldb, c, ldc, beta); break;
            case 3: Tile6x16<N3>(kc, a, b, ldb, c, ldc, beta); break;
            case 4: Tile6x16<N4>(kc, a, b, ldb, c, ldc, beta); break;
            case 5: Tile6x16<N5>(kc, a, b, ldb, c, ldc, beta); break;
            case 6: Tile6x16<N6>(kc, a, b, ldb, c, ldc, beta); break;
            default: ThrowHelper.Unreachable(); break;
        }
    }

    public static unsafe void NarrowTile(int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta)
    {
        switch (rows)
        {
            case 1: Tile6x8<N1>(kc, a, b, ldb, c, ldc, beta); break;
            case 2: Tile6x8<N2>(kc, a, b, ldb, c, ldc, beta); break;
            case 3: Tile6x8<N3>(kc, a, b, ldb, c, ldc, beta); break;
            case 4: Tile6x8<N4>(kc, a, b, ldb, c, ldc, beta); break;
            case 5: Tile6x8<N5>(kc, a, b, ldb, c, ldc, beta); break;
            case 6: Tile6x8<N6>(kc, a, b, ldb, c, ldc, beta); break;
            default: ThrowHelper.Unreachable(); break;
        }
    }

    // Tile6x16: 6 rows x 16 columns (2 x Vector256<float>) per tile; TRows picks how many rows are live.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile6x16<TRows>(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta) where TRows : struct, IConstant
    {
        int rows = TRows.Value;
        Vector256<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b + 0);
            Vector256<float> b1 = Vector256.Load(b + 8);
            { Vector256<float> a0 = Vector256.Create(a[0]); c0_0 = Vector256.FusedMultiplyAdd(a0, b0, c0_0); c0_1 = Vector256.FusedMultiplyAdd(a0, b1, c0_1); }
            if (rows > 1) { Vector256<float> a1 = Vector256.Create(a[1]); c1_0 = Vector256.FusedMultiplyAdd(a1, b0, c1_0); c1_1 = Vector256.FusedMultiplyAdd(a1, b1, c1_1); }
            if (rows > 2) { Vector256<float> a2 = Vector256.Create(a[2]); c2_0 = Vector256.FusedMultiplyAdd(a2, b0, c2_0); c2_1 = Vector256.FusedMultiplyAdd(a2, b1, c2_1); }
            if (rows > 3) { Vector256<float> a3 = Vector256.Create(a[3]); c3_0 = Vector256.FusedMultiplyAdd(a3, b0, c3_0); c3_1 = Vector256.FusedMultiplyAdd(a3, b1, c3_1); }
            if (rows > 4) { Vector256<float> a4 = Vector256.Create(a[4]); c4_0 = Vector256.FusedMultiplyAdd(a4, b0, c4_0); c4_1 = Vector256.FusedMultiplyAdd(a4, b1, c4_1); }
            if (rows > 5) { Vector256<float> a5 = Vector256.Create(a[5]); c5_0 = Vector256.FusedMultiplyAdd(a5, b0, c5_0); c5_1 = Vector256.FusedMultiplyAdd(a5, b1, c5_1); }
            a += 6;
            b += ldb;
        }
        if (beta == 0f)
        {
            { float* cr = c + 0 * ldc; Vector256.Store(c0_0, cr + 0); Vector256.Store(c0_1, cr + 8); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector256.Store(c1_0, cr + 0); Vector256.Store(c1_1, cr + 8); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector256.Store(c2_0, cr + 0); Vector256.Store(c2_1, cr + 8); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector256.Store(c3_0, cr + 0); Vector256.Store(c3_1, cr + 8); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector256.Store(c4_0, cr + 0); Vector256.Store(c4_1, cr + 8); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector256.Store(c5_0, cr + 0); Vector256.Store(c5_1, cr + 8); }
        }
        else if (beta == 1f)
        {
            { float* cr = c + 0 * ldc; Vector256.Store(c0_0 + Vector256.Load(cr + 0), cr + 0); Vector256.Store(c0_1 + Vector256.Load(cr + 8), cr + 8); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector256.Store(c1_0 + Vector256.Load(cr + 0), cr + 0); Vector256.Store(c1_1 + Vector256.Load(cr + 8), cr + 8); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector256.Store(c2_0 + Vector256.Load(cr + 0), cr + 0); Vector256.Store(c2_1 + Vector256.Load(cr + 8), cr + 8); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector256.Store(c3_0 + Vector256.Load(cr + 0), cr + 0); Vector256.Store(c3_1 + Vector256.Load(cr + 8), cr + 8); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector256.Store(c4_0 + Vector256.Load(cr + 0), cr + 0); Vector256.Store(c4_1 + Vector256.Load(cr + 8), cr + 8); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector256.Store(c5_0 + Vector256.Load(cr + 0), cr + 0); Vector256.Store(c5_1 + Vector256.Load(cr + 8), cr + 8); }
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            { float* cr = c + 0 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c0_0), cr + 0); Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 8), c0_1), cr + 8); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c1_0), cr + 0); Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 8), c1_1), cr + 8); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c2_0), cr + 0); Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 8), c2_1), cr + 8); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c3_0), cr + 0); Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 8), c3_1), cr + 8); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c4_0), cr + 0); Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 8), c4_1), cr + 8); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c5_0), cr + 0); Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 8), c5_1), cr + 8); }
        }
    }

    // Tile6x8: 6 rows x 8 columns (1 x Vector256<float>) per tile; TRows picks how many rows are live.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile6x8<TRows>(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta) where TRows : struct, IConstant
    {
        int rows = TRows.Value;
        Vector256<float> c0_0 = default, c1_0 = default, c2_0 = default, c3_0 = default, c4_0 = default, c5_0 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b + 0);
            { Vector256<float> a0 = Vector256.Create(a[0]); c0_0 = Vector256.FusedMultiplyAdd(a0, b0, c0_0); }
            if (rows > 1) { Vector256<float> a1 = Vector256.Create(a[1]); c1_0 = Vector256.FusedMultiplyAdd(a1, b0, c1_0); }
            if (rows > 2) { Vector256<float> a2 = Vector256.Create(a[2]); c2_0 = Vector256.FusedMultiplyAdd(a2, b0, c2_0); }
            if (rows > 3) { Vector256<float> a3 = Vector256.Create(a[3]); c3_0 = Vector256.FusedMultiplyAdd(a3, b0, c3_0); }
            if (rows > 4) { Vector256<float> a4 = Vector256.Create(a[4]); c4_0 = Vector256.FusedMultiplyAdd(a4, b0, c4_0); }
            if (rows > 5) { Vector256<float> a5 = Vector256.Create(a[5]); c5_0 = Vector256.FusedMultiplyAdd(a5, b0, c5_0); }
            a += 6;
            b += ldb;
        }
        if (beta == 0f)
        {
            { float* cr = c + 0 * ldc; Vector256.Store(c0_0, cr + 0); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector256.Store(c1_0, cr + 0); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector256.Store(c2_0, cr + 0); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector256.Store(c3_0, cr + 0); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector256.Store(c4_0, cr + 0); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector256.Store(c5_0, cr + 0); }
        }
        else if (beta == 1f)
        {
            { float* cr = c + 0 * ldc; Vector256.Store(c0_0 + Vector256.Load(cr + 0), cr + 0); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector256.Store(c1_0 + Vector256.Load(cr + 0), cr + 0); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector256.Store(c2_0 + Vector256.Load(cr + 0), cr + 0); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector256.Store(c3_0 + Vector256.Load(cr + 0), cr + 0); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector256.Store(c4_0 + Vector256.Load(cr + 0), cr + 0); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector256.Store(c5_0 + Vector256.Load(cr + 0), cr + 0); }
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            { float* cr = c + 0 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c0_0), cr + 0); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c1_0), cr + 0); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c2_0), cr + 0); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c3_0), cr + 0); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c4_0), cr + 0); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector256.Store(Vector256.FusedMultiplyAdd(vb, Vector256.Load(cr + 0), c5_0), cr + 0); }
        }
    }
}
