using System.Runtime.ExceptionServices;

namespace Shears.Tensors;

/// <summary>One call's share of a kernel: partition i of a fixed partitioning chosen from the shapes alone.</summary>
internal interface IPartitionedWork
{
    void Execute(int partition);
}

/// <summary>
/// Allocation-free fork/join for kernels. The caller queues helpers on the thread pool and then claims
/// partitions itself, so the work finishes even when no pool thread is free (a late helper finds nothing
/// left and leaves). Which thread runs a partition never changes what it computes: kernels partition by
/// shape only, so results are bit-for-bit identical from run to run.
/// </summary>
internal static class ForkJoin
{
    /// <summary>Largest number of threads a kernel call uses; the benchmarks set 1 to measure one core.</summary>
    internal static int MaxDegreeOfParallelism { get; set; } = Environment.ProcessorCount;

    public static int Threads => Math.Max(1, Math.Min(MaxDegreeOfParallelism, Environment.ProcessorCount));

    public static void Run<TWork>(in TWork work, int partitions) where TWork : struct, IPartitionedWork
    {
        if (partitions <= 0) return;
        int helpers = Math.Min(partitions, Threads) - 1;
        if (helpers <= 0)
        {
            for (int i = 0; i < partitions; i++) work.Execute(i);
            return;
        }

        var job = Job<TWork>.Rent();
        job.Start(work, partitions, helpers);
        for (int i = 0; i < helpers; i++) ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
        job.Participate();
        job.WaitForPartitions();
        Exception? error = job.Error;
        job.Release();
        if (error is not null) ExceptionDispatchInfo.Throw(error);
    }

    private sealed class Job<TWork> : IThreadPoolWorkItem where TWork : struct, IPartitionedWork
    {
        private static readonly Job<TWork>?[] s_pool = new Job<TWork>?[4];

        private readonly ManualResetEventSlim _done = new(false, spinCount: 200);
        private TWork _work;
        private int _count;
        private int _next;
        private int _pending;
        private int _refs;
        private Exception? _error;

        public Exception? Error => _error;

        public static Job<TWork> Rent()
        {
            for (int i = 0; i < s_pool.Length; i++)
            {
                var job = Interlocked.Exchange(ref s_pool[i], null);
                if (job is not null) return job;
            }
            return new Job<TWork>();
        }

        public void Start(in TWork work, int count, int helpers)
        {
            _work = work;
            _count = count;
            _next = 0;
            _pending = count;
            _error = null;
            _done.Reset();
            Volatile.Write(ref _refs, helpers + 1);
        }

        void IThreadPoolWorkItem.Execute()
        {
            Participate();
            Release();
        }

        public void Participate()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref _next) - 1;
                if (i >= _count) return;
                try
                {
                    _work.Execute(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, e, null);
                }
                if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
            }
        }

        public void WaitForPartitions() => _done.Wait();

        /// <summary>The last participant out (caller or a late helper) recycles the job.</summary>
        public void Release()
        {
            if (Interlocked.Decrement(ref _refs) != 0) return;
            _work = default;
            _error = null;
            for (int i = 0; i < s_pool.Length; i++)
                if (Interlocked.CompareExchange(ref s_pool[i], this, null) is null) return;
        }
    }
}
