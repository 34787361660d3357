using Shears.Tensors;

namespace Shears.Tests.Tensors;

public sealed class ForkJoinTests
{
    private readonly struct Mark : IPartitionedWork
    {
        private readonly int[] _hits;
        private readonly int _throwAt;

        public Mark(int[] hits, int throwAt = -1)
        {
            _hits = hits;
            _throwAt = throwAt;
        }

        public void Execute(int partition)
        {
            Interlocked.Increment(ref _hits[partition]);
            if (partition == _throwAt) throw new InvalidOperationException($"partition {partition} failed");
        }
    }

    [Fact]
    public void Fork_join_runs_every_partition_exactly_once()
    {
        for (int round = 0; round < 500; round++)
        {
            int parts = 1 + round % 7;
            var hits = new int[parts];
            ForkJoin.Run(new Mark(hits), parts);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void Fork_join_rethrows_a_partition_failure_after_all_partitions_finish()
    {
        var hits = new int[4];
        var e = Assert.Throws<InvalidOperationException>(() => ForkJoin.Run(new Mark(hits, throwAt: 2), 4));
        Assert.Contains("partition 2", e.Message);
        Assert.All(hits, h => Assert.Equal(1, h));
        // The helpers survive a failure and serve the next call.
        var again = new int[3];
        ForkJoin.Run(new Mark(again), 3);
        Assert.All(again, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Concurrent_gemm_calls_from_many_threads_are_correct_and_deterministic()
    {
        // Several callers at once: one holds the helper threads, the others fall back to the thread pool.
        const int m = 64, n = 700, k = 300;
        var rng = new Random(11);
        var a = new float[m * k];
        var b = new float[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5);
        var expected = new float[m * n];
        Gemm.Multiply(Transpose.No, Transpose.No, m, n, k, a, k, b, n, expected, n);

        var results = new float[8][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            var c = new float[m * n];
            for (int rep = 0; rep < 10; rep++)
                Gemm.Multiply(Transpose.No, Transpose.No, m, n, k, a, k, b, n, c, n);
            results[t] = c;
        });
        foreach (var c in results) Assert.True(expected.AsSpan().SequenceEqual(c));
    }

    [Fact]
    public void Jobs_side_by_side_keep_their_kernels_on_their_own_threads_while_several_run_with_the_same_results()
    {
        const int m = 37, n = 45, k = 29;
        var rng = new Random(3);
        var a = Enumerable.Range(0, m * k).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var expected = new float[m * n];
        Gemm.Multiply(Transpose.No, Transpose.No, m, n, k, a, k, b, n, expected, n);
        int all = KernelThreads.Current;
        float[] Product() { var c = new float[m * n]; Gemm.Multiply(Transpose.No, Transpose.No, m, n, k, a, k, b, n, c, n); return c; }

        // Both in: one thread each. The first then leaves, and the one left gets every core back. Neither leaves
        // before both have read their thread count: the first could otherwise end before the second's read, which
        // then (rightly) saw every core.
        using var bothIn = new Barrier(2);
        using var bothRead = new Barrier(2);
        int[] callers = new int[2];
        var seen = KernelThreads.RunSideBySide<(int Together, int Alone, float[] Result)>(
        [
            () =>
            {
                callers[0] = Environment.CurrentManagedThreadId;
                bothIn.SignalAndWait();
                int together = KernelThreads.Current;
                bothRead.SignalAndWait();
                return (together, 0, Product());
            },
            () =>
            {
                callers[1] = Environment.CurrentManagedThreadId;
                bothIn.SignalAndWait();
                int together = KernelThreads.Current;
                bothRead.SignalAndWait();
                var result = Product();
                // The first job's thread ends on its own; wait until only this one is left.
                for (var clock = System.Diagnostics.Stopwatch.StartNew(); KernelThreads.Current == 1 && all > 1 && clock.Elapsed.TotalSeconds < 10;) Thread.Sleep(1);
                return (together, KernelThreads.Current, result);
            },
        ]);
        Assert.NotEqual(callers[0], callers[1]);
        Assert.Equal(1, seen[0].Together);
        Assert.Equal(1, seen[1].Together);
        Assert.Equal(all, seen[1].Alone);
        Assert.True(expected.AsSpan().SequenceEqual(seen[0].Result));
        Assert.True(expected.AsSpan().SequenceEqual(seen[1].Result));
        Assert.Equal(all, KernelThreads.Current);

        // A failing job's exception comes back once both have ended; a cancellation only when nothing else failed.
        var e = Assert.Throws<InvalidOperationException>(() => KernelThreads.RunSideBySide<int>(
            [() => throw new OperationCanceledException(), () => throw new InvalidOperationException("second")]));
        Assert.Equal("second", e.Message);
        Assert.Throws<OperationCanceledException>(() => KernelThreads.RunSideBySide<int>([() => 1, () => throw new OperationCanceledException()]));
    }

    [Fact]
    public void Jobs_side_by_side_inside_a_side_by_side_job_stay_on_one_thread_while_anything_else_runs()
    {
        int cores = KernelThreads.Cores;
        using var allIn = new Barrier(3);
        using var allRead = new Barrier(3);   // none moves on before all three have read their thread count
        using var outerLeft = new ManualResetEventSlim();
        static void WaitFor(Func<bool> condition)
        {
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); !condition() && clock.Elapsed.TotalSeconds < 10;) Thread.Sleep(1);
        }
        // Job 0 runs two jobs of its own; job 1 runs beside them and leaves first, then inner job 0 leaves.
        // While any two run, in the inner group or the outer one, each job's kernels stay on its own thread.
        var seen = KernelThreads.RunSideBySide<int[]>(
        [
            () => KernelThreads.RunSideBySide<int[]>(
            [
                () =>
                {
                    allIn.SignalAndWait();
                    int together = KernelThreads.Current;
                    allRead.SignalAndWait();
                    outerLeft.Wait();
                    // Its partner still runs beside it.
                    return [together, KernelThreads.Current];
                },
                () =>
                {
                    allIn.SignalAndWait();
                    int together = KernelThreads.Current;
                    allRead.SignalAndWait();
                    outerLeft.Wait();
                    // Once the outer partner and the inner one have both left, this one gets every core back.
                    WaitFor(() => KernelThreads.Current > 1 || cores == 1);
                    return [together, KernelThreads.Current];
                },
            ]).SelectMany(r => r).ToArray(),
            () =>
            {
                allIn.SignalAndWait();
                int together = KernelThreads.Current;
                allRead.SignalAndWait();
                outerLeft.Set();
                return [together];
            },
        ]);
        Assert.Equal([1, 1, 1, cores], seen[0]);
        Assert.Equal([1], seen[1]);
        Assert.Equal(cores, KernelThreads.Current);
    }

    [Fact]
    public void Scheduled_jobs_start_in_order_as_their_widths_fit_the_cores()
    {
        int running = 0, finished = 0;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var together = new Barrier(2);
        Func<int> Job(int index, Func<int> body) => () =>
        {
            int now = Interlocked.Increment(ref running);
            log.Enqueue($"start {index} with {now} running, {Volatile.Read(ref finished)} finished");
            try { return body(); }
            finally
            {
                Interlocked.Decrement(ref running);
                Interlocked.Increment(ref finished);
            }
        };
        // Both jobs wait for each other, read their kernel threads, and wait again: neither leaves before the other has read.
        int BothIn()
        {
            Assert.True(together.SignalAndWait(TimeSpan.FromSeconds(10)));
            int threads = ForkJoin.Threads;
            Assert.True(together.SignalAndWait(TimeSpan.FromSeconds(10)));
            return threads;
        }
        // On two cores: the first (two wide) runs alone; the next two fit together (each waits to see the other
        // running, with kernels on one thread); the last waits for one of them.
        var results = ForkJoin.Scheduled<int>(
        [
            (2, Job(0, () => { Thread.Sleep(30); return 10; })),
            (1, Job(1, () => { int threads = BothIn(); Assert.Equal(1, threads); Thread.Sleep(30); return 11; })),
            (1, Job(2, () => { int threads = BothIn(); Assert.Equal(1, threads); return 12; })),
            (1, Job(3, () => 13)),
        ], cores: 2);
        Assert.Equal([10, 11, 12, 13], results);
        var starts = log.ToArray();
        Assert.Equal("start 0 with 1 running, 0 finished", starts[0]);
        Assert.All(starts.Skip(1).Take(2), line => Assert.EndsWith("1 finished", line));
        Assert.Matches("^start 3 with [12] running, [23] finished$", starts[3]);
        Assert.Equal(ForkJoin.Cores, ForkJoin.Threads);

        // A job wider than the cores runs alone; after a failure no later job starts, and the failure comes back.
        int started = 0;
        var e = Assert.Throws<InvalidOperationException>(() => ForkJoin.Scheduled<int>(
        [
            (3, () => { Interlocked.Increment(ref started); throw new InvalidOperationException("first"); }),
            (1, () => Interlocked.Increment(ref started)),
        ], cores: 2));
        Assert.Equal("first", e.Message);
        Assert.Equal(1, started);
        Assert.Empty(ForkJoin.Scheduled<int>([], cores: 2));
    }

    [Fact]
    public void Kernel_thread_limit_rejects_values_below_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelThreads.Max = 0);
        Assert.True(KernelThreads.Max >= 1);
    }
}
