namespace Shears.Tensors;

public enum Transpose { No, Yes }

/// <summary>
/// Single-precision matrix multiply, row-major: C[m×n] = op(A)·op(B) + beta·C, where op(A) is m×k and
/// op(B) is k×n. lda/ldb/ldc are the row strides of A, B and C as stored.
/// PLACEHOLDER: a plain reference loop until the packed, cache-blocked kernel lands.
/// </summary>
public static class Gemm
{
    public static void Multiply(
        Transpose transA, Transpose transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, float beta = 0f)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                {
                    float x = transA == Transpose.No ? a[i * lda + p] : a[p * lda + i];
                    float y = transB == Transpose.No ? b[p * ldb + j] : b[j * ldb + p];
                    s += x * y;
                }
                c[i * ldc + j] = beta == 0f ? s : s + beta * c[i * ldc + j];
            }
    }
}
