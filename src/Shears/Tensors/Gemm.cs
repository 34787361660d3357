using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shears.Tensors;

public enum Transpose { No, Yes }

/// <summary>
/// Single-precision matrix multiply, row-major: C[m×n] = op(A)·op(B) + beta·C, where op(A) is m×k and
/// op(B) is k×n. lda/ldb/ldc are the row strides of A, B and C as stored (A is k×m when transposed, B is n×k
/// when transposed).
/// </summary>
/// <remarks>
/// Packed, cache-blocked and register-blocked (GotoBLAS/BLIS style): a 14×32 AVX-512 micro-kernel (with a
/// 14×16 half tile), a 6×16 AVX2/FMA one for machines without fast Vector512, and a scalar fallback.
/// Transposes are absorbed by the packing routines, so all four combinations run at full speed; problems with a
/// single block of rows (the conv shapes: small m, huge n or k) stream the wide operand panel by panel with
/// software prefetch, reading a plain B in place; a C only a few columns wide is computed transposed.
/// Large problems are split across cores by output columns or rows only (never along k), and each element is
/// always produced by the same operations, so results are bit-for-bit reproducible whatever the thread count or
/// timing. Steady-state calls allocate nothing (pooled pinned packing buffers, dedicated helper threads).
/// When <c>beta</c> is 0, C is write-only: its old contents (even NaN) are ignored.
/// </remarks>
public static class Gemm
{
    public static void Multiply(
        Transpose transA, Transpose transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, float beta = 0f)
    {
        Multiply(GemmKernelKind.Auto, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta);
    }

    /// <summary>Which micro-kernel is best on this machine.</summary>
    internal static GemmKernelKind BestKernel =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? GemmKernelKind.Avx512
        : Vector256.IsHardwareAccelerated && Fma.IsSupported && Avx2.IsSupported ? GemmKernelKind.Avx2
        : GemmKernelKind.Scalar;

    /// <summary>Auto as the best kernel here; any other kind as itself, or an error when this machine lacks it.</summary>
    internal static GemmKernelKind Resolve(GemmKernelKind kind)
    {
        if (kind == GemmKernelKind.Auto) return BestKernel;
        if (!IsSupported(kind)) throw new PlatformNotSupportedException($"GEMM kernel {kind} is not supported on this machine.");
        return kind;
    }

    /// <summary>True when <paramref name="kind"/> can run on this machine.</summary>
    internal static bool IsSupported(GemmKernelKind kind) => kind switch
    {
        GemmKernelKind.Auto or GemmKernelKind.Scalar => true,
        GemmKernelKind.Avx2 => Fma.IsSupported && Avx2.IsSupported,
        GemmKernelKind.Avx512 => Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>The same operation with the micro-kernel chosen by the caller (tests cover every path).</summary>
    internal static unsafe void Multiply(
        GemmKernelKind kind, Transpose transA, Transpose transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, float beta)
    {
        if (m < 0) ThrowHelper.Negative(nameof(m), m);
        if (n < 0) ThrowHelper.Negative(nameof(n), n);
        if (k < 0) ThrowHelper.Negative(nameof(k), k);
        bool ta = transA == Transpose.Yes, tb = transB == Transpose.Yes;
        if (!ta && transA != Transpose.No) ThrowHelper.BadEnum(nameof(transA), (int)transA);
        if (!tb && transB != Transpose.No) ThrowHelper.BadEnum(nameof(transB), (int)transB);

        // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k when transposed), C is m×n.
        long needA = Extent(nameof(a), ta ? k : m, ta ? m : k, lda, a.Length);
        long needB = Extent(nameof(b), tb ? n : k, tb ? k : n, ldb, b.Length);
        long needC = Extent(nameof(c), m, n, ldc, c.Length);
        if (needC > 0)
        {
            ReadOnlySpan<float> usedC = c[..(int)needC];
            if (needA > 0 && usedC.Overlaps(a[..(int)needA])) ThrowHelper.Overlap(nameof(a), nameof(c));
            if (needB > 0 && usedC.Overlaps(b[..(int)needB])) ThrowHelper.Overlap(nameof(b), nameof(c));
        }
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            ScaleC(m, n, c, ldc, beta);
            return;
        }

        kind = Resolve(kind);

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var g = new GemmArgs(ta, tb, m, n, k, pa, lda, pb, ldb, pc, ldc, beta);
            Run(kind, g);
        }
    }

    /// <summary>C[m×n] = op(A)·op(B) + beta·C with op(A) packed beforehand (m and k are the packed matrix's).</summary>
    internal static unsafe void Multiply(GemmPackedA a, Transpose transB, int n, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, float beta = 0f)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.M == 0) throw new InvalidOperationException("The packed matrix holds nothing yet: call Pack first.");
        if (n < 0) ThrowHelper.Negative(nameof(n), n);
        bool tb = transB == Transpose.Yes;
        if (!tb && transB != Transpose.No) ThrowHelper.BadEnum(nameof(transB), (int)transB);
        int m = a.M, k = a.K;
        long needB = Extent(nameof(b), tb ? n : k, tb ? k : n, ldb, b.Length);
        long needC = Extent(nameof(c), m, n, ldc, c.Length);
        if (needC > 0 && needB > 0 && c[..(int)needC].Overlaps(b[..(int)needB])) ThrowHelper.Overlap(nameof(b), nameof(c));
        if (n == 0) return;
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var g = new GemmArgs(false, tb, m, n, k, null, 0, pb, ldb, pc, ldc, beta, a.Pointer);
            Run(a.Kind, g);
        }
    }

    /// <summary>
    /// How a call of this shape on <paramref name="kind"/> (resolved from Auto) sums each element of C, for kernels
    /// that must give its bits without calling it: the k blocks' length, and whether it computes Cᵀ. Each element
    /// is, per block, one fused multiply-add chain over k in order from zero. Computed directly, the first block's
    /// chain is C (beta 0) or chain + C, and each later block's is added the same way; computed transposed, the
    /// blocks' chains are summed first (chain + sum) and C is then that sum (beta 0) or sum + beta·C.
    /// </summary>
    internal static (int KcStep, bool Transposed) SumOrder(GemmKernelKind kind, int m, int n, int k) => Resolve(kind) switch
    {
        GemmKernelKind.Avx512 => (GemmEngine<Avx512Kernel>.KcStep(k), GemmEngine<Avx512Kernel>.ComputesTransposed(m, n, packedA: false)),
        GemmKernelKind.Avx2 => (GemmEngine<Avx2Kernel>.KcStep(k), GemmEngine<Avx2Kernel>.ComputesTransposed(m, n, packedA: false)),
        _ => (GemmEngine<ScalarKernel>.KcStep(k), GemmEngine<ScalarKernel>.ComputesTransposed(m, n, packedA: false)),
    };

    /// <summary>Runs a validated call on the engine of <paramref name="kind"/> (already resolved from Auto).</summary>
    private static void Run(GemmKernelKind kind, in GemmArgs g)
    {
        switch (kind)
        {
            case GemmKernelKind.Avx512: GemmEngine<Avx512Kernel>.Multiply(g); break;
            case GemmKernelKind.Avx2: GemmEngine<Avx2Kernel>.Multiply(g); break;
            default: GemmEngine<ScalarKernel>.Multiply(g); break;
        }
    }

    /// <summary>
    /// Floats a rows×cols matrix with row stride ld occupies: (rows−1)·ld + cols, or 0 when empty. Checks the
    /// stride and that the span holds that many.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Extent(string name, int rows, int cols, int ld, int length)
    {
        if (rows == 0 || cols == 0)
        {
            if (ld < 0) ThrowHelper.BadStride(name, ld, 0);
            return 0;
        }
        if (ld < cols) ThrowHelper.BadStride(name, ld, cols);
        long need = (long)(rows - 1) * ld + cols;
        if (length < need) ThrowHelper.TooShort(name, length, need, rows, cols, ld);
        return need;
    }

    private static void ScaleC(int m, int n, Span<float> c, int ldc, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else if (beta != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }
}

/// <summary>The micro-kernel families the engine can run.</summary>
internal enum GemmKernelKind { Auto, Avx512, Avx2, Scalar }
