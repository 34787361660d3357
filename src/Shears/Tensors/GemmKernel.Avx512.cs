// The tile bodies below are mechanical (one line per row of the tile) and were written by a small generator
// so that every row is identical: change the pattern for all rows, never one line by hand.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shears.Tensors;

/// <summary>
/// AVX-512 micro-kernel: a 14×32 tile of C held in 28 zmm accumulators, fed by a packed A micro-panel
/// (14 floats per k step, broadcast one at a time) and a packed B micro-panel (32 floats per k step).
/// Each C element is one fused multiply-add chain over k in order, so results do not depend on tiling.
/// </summary>
internal readonly struct Avx512Kernel : IGemmKernel
{
    public static int MR => 14;
    public static int NR => 32;
    public static int KC => 320;
    public static int MC => 14 * 24;
    public static int NC => 4096;

    public static unsafe void Tile(int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta)
    {
        switch (rows)
        {
            case 1: Tile14x32<N1>(kc, a, b, ldb, c, ldc, beta); break;
            case 2: Tile14x32<N2>(kc, a, b, ldb, c, ldc, beta); break;
            case 3: Tile14x32<N3>(kc, a, b, ldb, c, ldc, beta); break;
            case 4: Tile14x32<N4>(kc, a, b, ldb, c, ldc, beta); break;
            case 5: Tile14x32<N5>(kc, a, b, ldb, c, ldc, beta); break;
            case 6: Tile14x32<N6>(kc, a, b, ldb, c, ldc, beta); break;
            case 7: Tile14x32<N7>(kc, a, b, ldb, c, ldc, beta); break;
            case 8: Tile14x32<N8>(kc, a, b, ldb, c, ldc, beta); break;
            case 9: Tile14x32<N9>(kc, a, b, ldb, c, ldc, beta); break;
            case 10: Tile14x32<N10>(kc, a, b, ldb, c, ldc, beta); break;
            case 11: Tile14x32<N11>(kc, a, b, ldb, c, ldc, beta); break;
            case 12: Tile14x32<N12>(kc, a, b, ldb, c, ldc, beta); break;
            case 13: Tile14x32<N13>(kc, a, b, ldb, c, ldc, beta); break;
            case 14: Tile14x32<N14>(kc, a, b, ldb, c, ldc, beta); break;
            default: ThrowHelper.Unreachable(); break;
        }
    }

    public static unsafe void NarrowTile(int rows, nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta)
    {
        switch (rows)
        {
            case 1: Tile14x16<N1>(kc, a, b, ldb, c, ldc, beta); break;
            case 2: Tile14x16<N2>(kc, a, b, ldb, c, ldc, beta); break;
            case 3: Tile14x16<N3>(kc, a, b, ldb, c, ldc, beta); break;
            case 4: Tile14x16<N4>(kc, a, b, ldb, c, ldc, beta); break;
            case 5: Tile14x16<N5>(kc, a, b, ldb, c, ldc, beta); break;
            case 6: Tile14x16<N6>(kc, a, b, ldb, c, ldc, beta); break;
            case 7: Tile14x16<N7>(kc, a, b, ldb, c, ldc, beta); break;
            case 8: Tile14x16<N8>(kc, a, b, ldb, c, ldc, beta); break;
            case 9: Tile14x16<N9>(kc, a, b, ldb, c, ldc, beta); break;
            case 10: Tile14x16<N10>(kc, a, b, ldb, c, ldc, beta); break;
            case 11: Tile14x16<N11>(kc, a, b, ldb, c, ldc, beta); break;
            case 12: Tile14x16<N12>(kc, a, b, ldb, c, ldc, beta); break;
            case 13: Tile14x16<N13>(kc, a, b, ldb, c, ldc, beta); break;
            case 14: Tile14x16<N14>(kc, a, b, ldb, c, ldc, beta); break;
            default: ThrowHelper.Unreachable(); break;
        }
    }

    // Tile14x32: 14 rows x 32 columns (2 x Vector512<float>) per tile; TRows picks how many rows are live.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile14x32<TRows>(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta) where TRows : struct, IConstant
    {
        int rows = TRows.Value;
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default, c6_0 = default, c6_1 = default, c7_0 = default, c7_1 = default, c8_0 = default, c8_1 = default, c9_0 = default, c9_1 = default, c10_0 = default, c10_1 = default, c11_0 = default, c11_1 = default, c12_0 = default, c12_1 = default, c13_0 = default, c13_1 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> b1 = Vector512.Load(b + 16);
            { Vector512<float> a0 = Vector512.Create(a[0]); c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0); c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1); }
            if (rows > 1) { Vector512<float> a1 = Vector512.Create(a[1]); c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0); c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1); }
            if (rows > 2) { Vector512<float> a2 = Vector512.Create(a[2]); c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0); c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1); }
            if (rows > 3) { Vector512<float> a3 = Vector512.Create(a[3]); c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0); c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1); }
            if (rows > 4) { Vector512<float> a4 = Vector512.Create(a[4]); c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0); c4_1 = Vector512.FusedMultiplyAdd(a4, b1, c4_1); }
            if (rows > 5) { Vector512<float> a5 = Vector512.Create(a[5]); c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0); c5_1 = Vector512.FusedMultiplyAdd(a5, b1, c5_1); }
            if (rows > 6) { Vector512<float> a6 = Vector512.Create(a[6]); c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0); c6_1 = Vector512.FusedMultiplyAdd(a6, b1, c6_1); }
            if (rows > 7) { Vector512<float> a7 = Vector512.Create(a[7]); c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0); c7_1 = Vector512.FusedMultiplyAdd(a7, b1, c7_1); }
            if (rows > 8) { Vector512<float> a8 = Vector512.Create(a[8]); c8_0 = Vector512.FusedMultiplyAdd(a8, b0, c8_0); c8_1 = Vector512.FusedMultiplyAdd(a8, b1, c8_1); }
            if (rows > 9) { Vector512<float> a9 = Vector512.Create(a[9]); c9_0 = Vector512.FusedMultiplyAdd(a9, b0, c9_0); c9_1 = Vector512.FusedMultiplyAdd(a9, b1, c9_1); }
            if (rows > 10) { Vector512<float> a10 = Vector512.Create(a[10]); c10_0 = Vector512.FusedMultiplyAdd(a10, b0, c10_0); c10_1 = Vector512.FusedMultiplyAdd(a10, b1, c10_1); }
            if (rows > 11) { Vector512<float> a11 = Vector512.Create(a[11]); c11_0 = Vector512.FusedMultiplyAdd(a11, b0, c11_0); c11_1 = Vector512.FusedMultiplyAdd(a11, b1, c11_1); }
            if (rows > 12) { Vector512<float> a12 = Vector512.Create(a[12]); c12_0 = Vector512.FusedMultiplyAdd(a12, b0, c12_0); c12_1 = Vector512.FusedMultiplyAdd(a12, b1, c12_1); }
            if (rows > 13) { Vector512<float> a13 = Vector512.Create(a[13]); c13_0 = Vector512.FusedMultiplyAdd(a13, b0, c13_0); c13_1 = Vector512.FusedMultiplyAdd(a13, b1, c13_1); }
            a += 14;
            b += ldb;
        }
        if (beta == 0f)
        {
            { float* cr = c + 0 * ldc; Vector512.Store(c0_0, cr + 0); Vector512.Store(c0_1, cr + 16); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector512.Store(c1_0, cr + 0); Vector512.Store(c1_1, cr + 16); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector512.Store(c2_0, cr + 0); Vector512.Store(c2_1, cr + 16); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector512.Store(c3_0, cr + 0); Vector512.Store(c3_1, cr + 16); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector512.Store(c4_0, cr + 0); Vector512.Store(c4_1, cr + 16); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector512.Store(c5_0, cr + 0); Vector512.Store(c5_1, cr + 16); }
            if (rows > 6) { float* cr = c + 6 * ldc; Vector512.Store(c6_0, cr + 0); Vector512.Store(c6_1, cr + 16); }
            if (rows > 7) { float* cr = c + 7 * ldc; Vector512.Store(c7_0, cr + 0); Vector512.Store(c7_1, cr + 16); }
            if (rows > 8) { float* cr = c + 8 * ldc; Vector512.Store(c8_0, cr + 0); Vector512.Store(c8_1, cr + 16); }
            if (rows > 9) { float* cr = c + 9 * ldc; Vector512.Store(c9_0, cr + 0); Vector512.Store(c9_1, cr + 16); }
            if (rows > 10) { float* cr = c + 10 * ldc; Vector512.Store(c10_0, cr + 0); Vector512.Store(c10_1, cr + 16); }
            if (rows > 11) { float* cr = c + 11 * ldc; Vector512.Store(c11_0, cr + 0); Vector512.Store(c11_1, cr + 16); }
            if (rows > 12) { float* cr = c + 12 * ldc; Vector512.Store(c12_0, cr + 0); Vector512.Store(c12_1, cr + 16); }
            if (rows > 13) { float* cr = c + 13 * ldc; Vector512.Store(c13_0, cr + 0); Vector512.Store(c13_1, cr + 16); }
        }
        else if (beta == 1f)
        {
            { float* cr = c + 0 * ldc; Vector512.Store(c0_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c0_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector512.Store(c1_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c1_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector512.Store(c2_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c2_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector512.Store(c3_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c3_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector512.Store(c4_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c4_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector512.Store(c5_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c5_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 6) { float* cr = c + 6 * ldc; Vector512.Store(c6_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c6_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 7) { float* cr = c + 7 * ldc; Vector512.Store(c7_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c7_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 8) { float* cr = c + 8 * ldc; Vector512.Store(c8_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c8_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 9) { float* cr = c + 9 * ldc; Vector512.Store(c9_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c9_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 10) { float* cr = c + 10 * ldc; Vector512.Store(c10_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c10_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 11) { float* cr = c + 11 * ldc; Vector512.Store(c11_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c11_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 12) { float* cr = c + 12 * ldc; Vector512.Store(c12_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c12_1 + Vector512.Load(cr + 16), cr + 16); }
            if (rows > 13) { float* cr = c + 13 * ldc; Vector512.Store(c13_0 + Vector512.Load(cr + 0), cr + 0); Vector512.Store(c13_1 + Vector512.Load(cr + 16), cr + 16); }
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            { float* cr = c + 0 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c0_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c0_1), cr + 16); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c1_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c1_1), cr + 16); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c2_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c2_1), cr + 16); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c3_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c3_1), cr + 16); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c4_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c4_1), cr + 16); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c5_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c5_1), cr + 16); }
            if (rows > 6) { float* cr = c + 6 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c6_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c6_1), cr + 16); }
            if (rows > 7) { float* cr = c + 7 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c7_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c7_1), cr + 16); }
            if (rows > 8) { float* cr = c + 8 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c8_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c8_1), cr + 16); }
            if (rows > 9) { float* cr = c + 9 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c9_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c9_1), cr + 16); }
            if (rows > 10) { float* cr = c + 10 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c10_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c10_1), cr + 16); }
            if (rows > 11) { float* cr = c + 11 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c11_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c11_1), cr + 16); }
            if (rows > 12) { float* cr = c + 12 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c12_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c12_1), cr + 16); }
            if (rows > 13) { float* cr = c + 13 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c13_0), cr + 0); Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 16), c13_1), cr + 16); }
        }
    }

    // Tile14x16: 14 rows x 16 columns (1 x Vector512<float>) per tile; TRows picks how many rows are live.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile14x16<TRows>(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta) where TRows : struct, IConstant
    {
        int rows = TRows.Value;
        Vector512<float> c0_0 = default, c1_0 = default, c2_0 = default, c3_0 = default, c4_0 = default, c5_0 = default, c6_0 = default, c7_0 = default, c8_0 = default, c9_0 = default, c10_0 = default, c11_0 = default, c12_0 = default, c13_0 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            { Vector512<float> a0 = Vector512.Create(a[0]); c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0); }
            if (rows > 1) { Vector512<float> a1 = Vector512.Create(a[1]); c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0); }
            if (rows > 2) { Vector512<float> a2 = Vector512.Create(a[2]); c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0); }
            if (rows > 3) { Vector512<float> a3 = Vector512.Create(a[3]); c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0); }
            if (rows > 4) { Vector512<float> a4 = Vector512.Create(a[4]); c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0); }
            if (rows > 5) { Vector512<float> a5 = Vector512.Create(a[5]); c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0); }
            if (rows > 6) { Vector512<float> a6 = Vector512.Create(a[6]); c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0); }
            if (rows > 7) { Vector512<float> a7 = Vector512.Create(a[7]); c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0); }
            if (rows > 8) { Vector512<float> a8 = Vector512.Create(a[8]); c8_0 = Vector512.FusedMultiplyAdd(a8, b0, c8_0); }
            if (rows > 9) { Vector512<float> a9 = Vector512.Create(a[9]); c9_0 = Vector512.FusedMultiplyAdd(a9, b0, c9_0); }
            if (rows > 10) { Vector512<float> a10 = Vector512.Create(a[10]); c10_0 = Vector512.FusedMultiplyAdd(a10, b0, c10_0); }
            if (rows > 11) { Vector512<float> a11 = Vector512.Create(a[11]); c11_0 = Vector512.FusedMultiplyAdd(a11, b0, c11_0); }
            if (rows > 12) { Vector512<float> a12 = Vector512.Create(a[12]); c12_0 = Vector512.FusedMultiplyAdd(a12, b0, c12_0); }
            if (rows > 13) { Vector512<float> a13 = Vector512.Create(a[13]); c13_0 = Vector512.FusedMultiplyAdd(a13, b0, c13_0); }
            a += 14;
            b += ldb;
        }
        if (beta == 0f)
        {
            { float* cr = c + 0 * ldc; Vector512.Store(c0_0, cr + 0); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector512.Store(c1_0, cr + 0); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector512.Store(c2_0, cr + 0); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector512.Store(c3_0, cr + 0); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector512.Store(c4_0, cr + 0); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector512.Store(c5_0, cr + 0); }
            if (rows > 6) { float* cr = c + 6 * ldc; Vector512.Store(c6_0, cr + 0); }
            if (rows > 7) { float* cr = c + 7 * ldc; Vector512.Store(c7_0, cr + 0); }
            if (rows > 8) { float* cr = c + 8 * ldc; Vector512.Store(c8_0, cr + 0); }
            if (rows > 9) { float* cr = c + 9 * ldc; Vector512.Store(c9_0, cr + 0); }
            if (rows > 10) { float* cr = c + 10 * ldc; Vector512.Store(c10_0, cr + 0); }
            if (rows > 11) { float* cr = c + 11 * ldc; Vector512.Store(c11_0, cr + 0); }
            if (rows > 12) { float* cr = c + 12 * ldc; Vector512.Store(c12_0, cr + 0); }
            if (rows > 13) { float* cr = c + 13 * ldc; Vector512.Store(c13_0, cr + 0); }
        }
        else if (beta == 1f)
        {
            { float* cr = c + 0 * ldc; Vector512.Store(c0_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector512.Store(c1_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector512.Store(c2_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector512.Store(c3_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector512.Store(c4_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector512.Store(c5_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 6) { float* cr = c + 6 * ldc; Vector512.Store(c6_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 7) { float* cr = c + 7 * ldc; Vector512.Store(c7_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 8) { float* cr = c + 8 * ldc; Vector512.Store(c8_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 9) { float* cr = c + 9 * ldc; Vector512.Store(c9_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 10) { float* cr = c + 10 * ldc; Vector512.Store(c10_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 11) { float* cr = c + 11 * ldc; Vector512.Store(c11_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 12) { float* cr = c + 12 * ldc; Vector512.Store(c12_0 + Vector512.Load(cr + 0), cr + 0); }
            if (rows > 13) { float* cr = c + 13 * ldc; Vector512.Store(c13_0 + Vector512.Load(cr + 0), cr + 0); }
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            { float* cr = c + 0 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c0_0), cr + 0); }
            if (rows > 1) { float* cr = c + 1 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c1_0), cr + 0); }
            if (rows > 2) { float* cr = c + 2 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c2_0), cr + 0); }
            if (rows > 3) { float* cr = c + 3 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c3_0), cr + 0); }
            if (rows > 4) { float* cr = c + 4 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c4_0), cr + 0); }
            if (rows > 5) { float* cr = c + 5 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c5_0), cr + 0); }
            if (rows > 6) { float* cr = c + 6 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c6_0), cr + 0); }
            if (rows > 7) { float* cr = c + 7 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c7_0), cr + 0); }
            if (rows > 8) { float* cr = c + 8 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c8_0), cr + 0); }
            if (rows > 9) { float* cr = c + 9 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c9_0), cr + 0); }
            if (rows > 10) { float* cr = c + 10 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c10_0), cr + 0); }
            if (rows > 11) { float* cr = c + 11 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c11_0), cr + 0); }
            if (rows > 12) { float* cr = c + 12 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c12_0), cr + 0); }
            if (rows > 13) { float* cr = c + 13 * ldc; Vector512.Store(Vector512.FusedMultiplyAdd(vb, Vector512.Load(cr + 0), c13_0), cr + 0); }
        }
    }
}
