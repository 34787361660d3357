using System.Buffers;
using System.Runtime.CompilerServices;

namespace Shears.Tensors;

/// <summary>A validated GEMM call: raw pointers into memory the caller keeps pinned for the call.</summary>
internal unsafe readonly struct GemmArgs
{
    public readonly float* A, B, C;
    public readonly nint Lda, Ldb, Ldc;
    public readonly bool TransA, TransB;
    public readonly int M, N, K;
    public readonly float Beta;

    /// <summary>When set, op(A) already packed by <see cref="GemmEngine{TK}.PackAll"/> (A itself is not read).</summary>
    public readonly float* PackedA;

    public GemmArgs(bool transA, bool transB, int m, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, float beta, float* packedA = null)
    {
        TransA = transA; TransB = transB; M = m; N = n; K = k;
        A = a; Lda = lda; B = b; Ldb = ldb; C = c; Ldc = ldc; Beta = beta; PackedA = packedA;
    }
}

/// <summary>
/// GotoBLAS/BLIS-style blocked SGEMM over one micro-kernel <typeparamref name="TK"/>:
/// jc (NC columns) → pc (KC steps, pack B) → ic (MC rows, pack A) → jr (NR) → ir (MR) → kernel.
/// The k blocking depends on K and the kernel only, and each C element is always updated by the same
/// sequence of operations, so the result does not depend on how the work is split across threads.
/// </summary>
internal static unsafe class GemmEngine<TK> where TK : struct, IGemmKernel
{
    /// <summary>Problems with fewer multiply-adds than this run on the calling thread.</summary>
    private const long ParallelThreshold = 1L << 20;

    /// <summary>
    /// Operands larger than this are streamed with software prefetch; smaller ones are assumed to sit in L2
    /// already, where the prefetch instructions only cost issue slots (measured: ~5% on the FC shapes).
    /// </summary>
    private const long PrefetchThresholdBytes = 4L << 20;

    /// <summary>Estimated cost of packing one float, in kernel multiply-adds (for choosing the split).</summary>
    private const long PackCost = 8;

    public static int PackASize => TK.MC * TK.KC;

    public static int PackBSize => TK.KC * TK.NC;

    /// <summary>Rows of op(A) rounded up to whole MR panels: the packed A of <see cref="PackAll"/> holds PaddedRows(m)·k floats.</summary>
    public static int PaddedRows(int m) => CeilDiv(m, TK.MR) * TK.MR;

    /// <summary>
    /// Packs all of op(A) (m×k) the way <see cref="Run"/> packs it block by block: k block b (the same balanced
    /// blocks) starts at pc·PaddedRows(m), and within it the MR-row panel starting at row i sits at i·kc. Run then
    /// reads the panels in place, so many products with the same A (a convolution's weights, image after image)
    /// pack it once and give bit-for-bit the results of unpacked calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackAll(bool transA, int m, int k, float* a, nint lda, float* dst)
    {
        int kcStep = KcStep(k);
        int padded = PaddedRows(m);
        var g = new GemmArgs(transA, false, m, 0, k, a, lda, null, 0, null, 0, 0f);
        for (int pc = 0; pc < k; pc += kcStep)
            PackA(g, 0, m, pc, Math.Min(kcStep, k - pc), dst + (nint)pc * padded);
    }

    /// <summary>
    /// The length of the balanced k blocks a call sums over (the last may be shorter): it depends on K and the
    /// kernel only. Each element of C is one fused multiply-add chain per block, from zero, the blocks then added
    /// to C in order (see <see cref="Gemm.SumOrder"/>).
    /// </summary>
    public static int KcStep(int k) => CeilDiv(k, CeilDiv(k, TK.KC));

    /// <summary>Whether an m×n product is computed as Cᵀ (<see cref="MultiplyTransposed"/>): a C too narrow for the kernel's tiles.</summary>
    public static bool ComputesTransposed(int m, int n, bool packedA) => 2 * n < TK.NR && m > n && !packedA;

    public static void Multiply(in GemmArgs g)
    {
        if (ComputesTransposed(g.M, g.N, g.PackedA != null))
        {
            MultiplyTransposed(g);
            return;
        }
        int threads = ForkJoin.Threads;
        long work = (long)g.M * g.N * g.K;
        // Columns are split in half panels: a boundary inside a panel costs one half-width tile (same
        // arithmetic per element), and 9 panels (conv dW) then split 4½ : 4½ instead of 5 : 4.
        int unitN = TK.NR / 2;
        int tilesM = CeilDiv(g.M, TK.MR);
        int unitsN = CeilDiv(g.N, unitN);
        if (threads == 1 || work < ParallelThreshold || (tilesM < 2 && unitsN < 4))
        {
            var ws = GemmWorkspace.Rent();
            try { Run(g, 0, g.M, 0, g.N, ws); }
            finally { GemmWorkspace.Return(ws); }
            return;
        }

        // Split the M tiles or N units into contiguous ranges, one per thread, whichever costs less once the
        // duplicated packing (each thread packs all of the other operand) is counted.
        // At least two half panels (one full panel) per partition: a lone half-width tile per thread pays for
        // repacking the whole other operand with half the arithmetic.
        int partsN = Math.Min(threads, unitsN / 2), partsM = Math.Min(threads, tilesM);
        long colsN = (long)CeilDiv(unitsN, partsN) * unitN, rowsM = (long)CeilDiv(tilesM, partsM) * TK.MR;
        long costN = partsN < 2 ? long.MaxValue
            : colsN * tilesM * TK.MR * g.K + PackCost * ((long)g.M * g.K * CeilDiv((int)colsN, TK.NC) + colsN * g.K);
        long costM = partsM < 2 ? long.MaxValue
            : rowsM * CeilDiv(g.N, TK.NR) * TK.NR * g.K + PackCost * ((long)g.N * g.K + rowsM * g.K);
        bool splitN = costN <= costM;
        // Over-decompose (up to 4 partitions per thread) where the extra packing stays under ~1% of the
        // arithmetic (each extra partition repacks the other operand: PackCost·m·k against m·n·k), i.e. the
        // huge-n conv shapes. Partitions are claimed dynamically, so a thread the OS preempts, or a slower
        // partition, then delays the call by a fraction of its share instead of all of it.
        int units = splitN ? unitsN : tilesM;
        int parts = splitN ? partsN : partsM;
        long cheap = (splitN ? g.N : g.M) / (100 * PackCost);
        parts = (int)Math.Clamp(cheap, Math.Max(1, parts), Math.Max(1, Math.Min(4L * threads, units)));
        var split = new Split(g, splitN, units, parts);
        ForkJoin.Run(split, split.Parts);
    }

    /// <summary>
    /// For a C only a few columns wide (conv1's dW is 32×9, the last FC layer 128×10) most of every NR-wide
    /// tile would be padding. Compute Cᵀ = op(B)ᵀ·op(A)ᵀ instead, where the wide side fills whole tiles, into
    /// pooled scratch, then C = Cᵀᵀ + beta·C. The choice depends on the shapes only, so results stay reproducible.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyTransposed(in GemmArgs g)
    {
        int m = g.M, n = g.N;
        float[] rented = ArrayPool<float>.Shared.Rent(m * n);
        try
        {
            fixed (float* t = rented)
            {
                // op(B)ᵀ is B read with the opposite transpose flag; likewise op(A)ᵀ.
                Multiply(new GemmArgs(!g.TransB, !g.TransA, n, m, g.K, g.B, g.Ldb, g.A, g.Lda, t, m, 0f));
                float beta = g.Beta;
                for (int i = 0; i < m; i++)
                {
                    float* c = g.C + i * g.Ldc;
                    float* col = t + i;
                    if (beta == 0f)
                        for (int j = 0; j < n; j++) c[j] = col[(nint)j * m];
                    else
                        for (int j = 0; j < n; j++) c[j] = col[(nint)j * m] + beta * c[j];
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    private readonly struct Split : IPartitionedWork
    {
        private readonly GemmArgs _g;
        private readonly bool _splitN;
        private readonly int _tiles;
        public readonly int Parts;

        public Split(in GemmArgs g, bool splitN, int tiles, int parts)
        {
            _g = g; _splitN = splitN; _tiles = tiles; Parts = parts;
        }

        public void Execute(int partition)
        {
            int t0 = (int)((long)_tiles * partition / Parts);
            int t1 = (int)((long)_tiles * (partition + 1) / Parts);
            var ws = GemmWorkspace.Rent();
            try
            {
                if (_splitN)
                    Run(_g, 0, _g.M, t0 * (TK.NR / 2), Math.Min(t1 * (TK.NR / 2), _g.N), ws);
                else
                    Run(_g, t0 * TK.MR, Math.Min(t1 * TK.MR, _g.M), 0, _g.N, ws);
            }
            finally { GemmWorkspace.Return(ws); }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CeilDiv(int a, int b) => (a + b - 1) / b;

    /// <summary>Computes rows [i0, i1) × columns [j0, j1) of C with the packing buffers of one workspace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run(in GemmArgs g, int i0, int i1, int j0, int j1, GemmWorkspace ws)
    {
        int mr = TK.MR, nr = TK.NR;
        // Balanced k blocks: the block size depends only on K, never on the partition.
        int kcStep = KcStep(g.K);
        float* packA = ws.PackA;
        float* packB = ws.PackB;
        float* edge = stackalloc float[TK.MR * TK.NR];
        // With a single block of rows each packed B panel serves one sweep of the row panels only, so pack each
        // B micro-panel just before its sweep (it stays in L1) and prefetch the next panel's source meanwhile:
        // the memory traffic of the wide operand then overlaps the arithmetic (the conv shapes: small m, huge n or k).
        bool stream = i1 - i0 <= TK.MC;
        bool prefetchA = (long)g.M * g.K * sizeof(float) > PrefetchThresholdBytes;
        bool prefetchB = (long)g.K * g.N * sizeof(float) > PrefetchThresholdBytes;

        for (int jc = j0; jc < j1; jc += TK.NC)
        {
            int nc = Math.Min(TK.NC, j1 - jc);
            for (int pc = 0; pc < g.K; pc += kcStep)
            {
                int kc = Math.Min(kcStep, g.K - pc);
                float beta = pc == 0 ? g.Beta : 1f;
                if (!stream) PackB(g, jc, nc, pc, kc, packB);

                for (int ic = i0; ic < i1; ic += TK.MC)
                {
                    int mc = Math.Min(TK.MC, i1 - ic);
                    float* aBlock = packA;
                    if (g.PackedA != null)
                        aBlock = g.PackedA + (nint)pc * PaddedRows(g.M) + (nint)ic * kc;
                    else
                        PackA(g, ic, mc, pc, kc, packA);
                    float* cBlock = g.C + ic * g.Ldc + jc;
                    if (stream)
                    {
                        int tilesPerPanel = CeilDiv(mc, mr);
                        int nextKc = Math.Min(kcStep, g.K - pc - kc);
                        var nextA = nextKc > 0 && prefetchA && g.PackedA == null ? SourceOfA(g, ic, mc, pc + kc, nextKc) : default;
                        int aPerTile = CeilDiv(nextA.Lines, CeilDiv(nc, nr) * tilesPerPanel);
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int cols = Math.Min(nr, nc - jr);
                            // A full-width panel of a plain (k×n) B is read in place: the kernel takes NR floats
                            // per step at stride ldb, so the wide operand is never copied. Otherwise pack it.
                            float* bPanel = packB;
                            nint ldbPanel = nr;
                            if (!g.TransB && cols == nr)
                            {
                                bPanel = g.B + pc * g.Ldb + jc + jr;
                                ldbPanel = g.Ldb;
                            }
                            else
                            {
                                PackB(g, jc + jr, cols, pc, kc, packB);
                            }
                            PrefetchCursor nextB =
                                !prefetchB ? default
                                : jr + nr < nc ? SourceOfB(g, jc + jr + nr, Math.Min(nr, nc - jr - nr), pc, kc)
                                : nextKc > 0 ? SourceOfB(g, jc, Math.Min(nr, nc), pc + kc, nextKc)
                                : jc + TK.NC < j1 ? SourceOfB(g, jc + TK.NC, Math.Min(nr, j1 - jc - TK.NC), 0, kcStep)
                                : default;
                            int bPerTile = CeilDiv(nextB.Lines, tilesPerPanel);
                            for (int ir = 0; ir < mc; ir += mr)
                            {
                                nextB.Issue(bPerTile);
                                nextA.Issue(aPerTile);
                                Tile(Math.Min(mr, mc - ir), cols, kc, aBlock + (nint)ir * kc, bPanel, ldbPanel, cBlock + ir * g.Ldc + jr, g.Ldc, beta, edge);
                            }
                        }
                    }
                    else
                    {
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int cols = Math.Min(nr, nc - jr);
                            float* bPanel = packB + (nint)jr * kc;
                            for (int ir = 0; ir < mc; ir += mr)
                                Tile(Math.Min(mr, mc - ir), cols, kc, aBlock + (nint)ir * kc, bPanel, nr, cBlock + ir * g.Ldc + jr, g.Ldc, beta, edge);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Packs op(B)[pc.., j..] (kc × cols) into NR-wide panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackB(in GemmArgs g, int j, int cols, int pc, int kc, float* dst)
    {
        // op(B)[p, j]: B[p, j] stored k×n, or B[j, p] stored n×k when transposed.
        if (g.TransB)
            GemmPacking.PackBlock(lanesAreRows: true, g.B + j * g.Ldb + pc, g.Ldb, cols, kc, TK.NR, dst);
        else
            GemmPacking.PackBlock(lanesAreRows: false, g.B + pc * g.Ldb + j, g.Ldb, cols, kc, TK.NR, dst);
    }

    /// <summary>Packs op(A)[i.., pc..] (rows × kc) into MR-wide panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackA(in GemmArgs g, int i, int rows, int pc, int kc, float* dst)
    {
        // op(A)[i, p]: A[i, p] stored m×k, or A[p, i] stored k×m when transposed.
        if (g.TransA)
            GemmPacking.PackBlock(lanesAreRows: false, g.A + pc * g.Lda + i, g.Lda, rows, kc, TK.MR, dst);
        else
            GemmPacking.PackBlock(lanesAreRows: true, g.A + i * g.Lda + pc, g.Lda, rows, kc, TK.MR, dst);
    }

    private static PrefetchCursor SourceOfB(in GemmArgs g, int j, int cols, int pc, int kc) =>
        g.TransB ? new PrefetchCursor(g.B + j * g.Ldb + pc, g.Ldb, cols, kc)
                 : new PrefetchCursor(g.B + pc * g.Ldb + j, g.Ldb, kc, cols);

    private static PrefetchCursor SourceOfA(in GemmArgs g, int i, int rows, int pc, int kc) =>
        g.TransA ? new PrefetchCursor(g.A + pc * g.Lda + i, g.Lda, kc, rows)
                 : new PrefetchCursor(g.A + i * g.Lda + pc, g.Lda, rows, kc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(int rows, int cols, int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, float* edge)
    {
        if (cols == TK.NR)
            TK.Tile(rows, kc, a, b, ldb, c, ldc, beta);
        else if (cols == TK.NR / 2)
            TK.NarrowTile(rows, kc, a, b, ldb, c, ldc, beta);
        else
            EdgeTile(rows, cols, kc, a, b, c, ldc, beta, edge);
    }

    /// <summary>A tile narrower than NR: run the kernel on a scratch tile and copy the live columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EdgeTile(int rows, int cols, int kc, float* a, float* b, float* c, nint ldc, float beta, float* scratch)
    {
        int nr = TK.NR;
        if (beta != 0f)
            for (int r = 0; r < rows; r++)
                new ReadOnlySpan<float>(c + r * ldc, cols).CopyTo(new Span<float>(scratch + r * nr, nr));
        if (cols < nr / 2)
            TK.NarrowTile(rows, kc, a, b, nr, scratch, nr, beta);
        else
            TK.Tile(rows, kc, a, b, nr, scratch, nr, beta);
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(scratch + r * nr, cols).CopyTo(new Span<float>(c + r * ldc, cols));
    }
}

/// <summary>
/// Packing buffers for one thread of one GEMM call: pinned (never moved by the GC), 64-byte aligned, sized for
/// the largest kernel, and recycled through a small lock-free pool so steady-state calls allocate nothing.
/// </summary>
internal sealed unsafe class GemmWorkspace
{
    private static readonly GemmWorkspace?[] s_pool = new GemmWorkspace?[Math.Max(4, 2 * Environment.ProcessorCount)];

    private static readonly int s_sizeA = Math.Max(GemmEngine<Avx512Kernel>.PackASize, Math.Max(GemmEngine<Avx2Kernel>.PackASize, GemmEngine<ScalarKernel>.PackASize));
    private static readonly int s_sizeB = Math.Max(GemmEngine<Avx512Kernel>.PackBSize, Math.Max(GemmEngine<Avx2Kernel>.PackBSize, GemmEngine<ScalarKernel>.PackBSize));

    private readonly float[] _storage;

    private GemmWorkspace()
    {
        // Both buffers in one pinned array; each starts on a 64-byte boundary.
        _storage = GC.AllocateUninitializedArray<float>(s_sizeA + s_sizeB + 32, pinned: true);
        float* p = (float*)Unsafe.AsPointer(ref _storage[0]);
        PackA = (float*)(((nint)p + 63) & ~(nint)63);
        PackB = (float*)(((nint)(PackA + s_sizeA) + 63) & ~(nint)63);
    }

    public float* PackA { get; }

    public float* PackB { get; }

    public static GemmWorkspace Rent()
    {
        for (int i = 0; i < s_pool.Length; i++)
        {
            var ws = Interlocked.Exchange(ref s_pool[i], null);
            if (ws is not null) return ws;
        }
        return new GemmWorkspace();
    }

    public static void Return(GemmWorkspace ws)
    {
        for (int i = 0; i < s_pool.Length; i++)
            if (Interlocked.CompareExchange(ref s_pool[i], ws, null) is null) return;
    }
}
