namespace Shears.Tensors;

/// <summary>
/// A left operand op(A) packed once for many products C = op(A)·op(B) + beta·C with different B and C: a
/// convolution multiplies the same weights with every image's columns. Packing A per call cost about 5 µs of a
/// 31 µs product at CNN-3's conv2 shape. The results are bit-for-bit those of <see cref="Gemm.Multiply(Transpose, Transpose, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, float)"/>,
/// except for a C under half a panel wide, which that call computes transposed and this one does not.
/// The storage is pinned and reused by the next <see cref="Pack"/>; one instance serves one thread's calls at a
/// time (the products may run in parallel once it is packed).
/// </summary>
internal sealed unsafe class GemmPackedA
{
    private float[] _storage = [];

    public int M { get; private set; }

    public int K { get; private set; }

    public GemmKernelKind Kind { get; private set; }

    internal float* Pointer { get; private set; }

    /// <summary>Packs op(A), m×k (A stored m×k, or k×m when transposed, with row stride lda), for <paramref name="kind"/>'s kernel.</summary>
    public void Pack(Transpose transA, int m, int k, ReadOnlySpan<float> a, int lda, GemmKernelKind kind = GemmKernelKind.Auto)
    {
        if (m < 1) ThrowHelper.NotPositive(nameof(m), m);
        if (k < 1) ThrowHelper.NotPositive(nameof(k), k);
        bool ta = transA == Transpose.Yes;
        if (!ta && transA != Transpose.No) ThrowHelper.BadEnum(nameof(transA), (int)transA);
        int rows = ta ? k : m, cols = ta ? m : k;
        if (lda < cols) ThrowHelper.BadStride(nameof(a), lda, cols);
        long need = (long)(rows - 1) * lda + cols;
        if (a.Length < need) ThrowHelper.TooShort(nameof(a), a.Length, need, rows, cols, lda);
        kind = Gemm.Resolve(kind);
        switch (kind)
        {
            case GemmKernelKind.Avx512: PackFor<Avx512Kernel>(ta, m, k, a, lda); break;
            case GemmKernelKind.Avx2: PackFor<Avx2Kernel>(ta, m, k, a, lda); break;
            default: PackFor<ScalarKernel>(ta, m, k, a, lda); break;
        }
        M = m;
        K = k;
        Kind = kind;
    }

    private void PackFor<TK>(bool transA, int m, int k, ReadOnlySpan<float> a, int lda) where TK : struct, IGemmKernel
    {
        long size = (long)GemmEngine<TK>.PaddedRows(m) * k;
        if (size > Array.MaxLength) ThrowHelper.TooLarge("The packed matrix", size);
        if (_storage.Length < size)
        {
            _storage = GC.AllocateUninitializedArray<float>((int)size, pinned: true);
            Pointer = (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _storage[0]);
        }
        fixed (float* pa = a) GemmEngine<TK>.PackAll(transA, m, k, pa, lda, Pointer);
    }
}
