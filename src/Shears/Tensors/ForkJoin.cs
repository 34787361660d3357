using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Shears.Tensors;

/// <summary>One call's share of a kernel: partition i of a fixed partitioning chosen from the shapes alone.</summary>
internal interface IPartitionedWork
{
    void Execute(int partition);
}

/// <summary>
/// Allocation-free fork/join for kernels. Helpers are dedicated background threads (one per extra core) that
/// spin briefly after each job and then sleep, so back-to-back kernel calls start in microseconds rather than
/// waiting for thread-pool wake-ups. The caller claims partitions too, so a call finishes even when no helper
/// gets a core (a late helper finds nothing left and leaves); when another call already holds the helpers, the
/// thread pool stands in. Which thread runs a partition never changes what it computes: kernels partition by
/// shape only, so results are bit-for-bit identical from run to run.
/// </summary>
internal static class ForkJoin
{
    /// <summary>How long an idle helper keeps polling before it sleeps.</summary>
    private static readonly long s_spinTicks = Stopwatch.Frequency / 2000;   // 0.5 ms

    private static readonly object s_startLock = new();
    private static Helper[] s_helpers = [];
    private static int s_helpersBusy;

    /// <summary>
    /// Largest number of threads a kernel call uses: SHEARS_THREADS when set to a positive integer, else the
    /// core count. Settable through <see cref="KernelThreads.Max"/>; the benchmarks set 1 to measure one core.
    /// </summary>
    internal static int MaxDegreeOfParallelism { get; set; } = FromEnvironment();

    private static int FromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable("SHEARS_THREADS"), out int n) && n > 0 ? n : Environment.ProcessorCount;

    /// <summary>
    /// Set while this thread runs a partition. A kernel called from inside a partition (a GEMM per image of a
    /// convolution, say) then runs on that thread alone: the outer split already keeps every core busy.
    /// </summary>
    [ThreadStatic] private static bool t_inPartition;

    /// <summary>
    /// Jobs started together by <see cref="Scheduled"/>, how many of them still run, and the group the starting
    /// thread's own job belongs to (side-by-side jobs may start side-by-side jobs of their own).
    /// </summary>
    private sealed class JobGroup(int running, JobGroup? parent)
    {
        public int Running = running;
        public readonly JobGroup? Parent = parent;
    }

    /// <summary>The group of side-by-side jobs this thread runs one of: while others of it run, its kernels stay on this thread.</summary>
    [ThreadStatic] private static JobGroup? t_group;

    public static int Threads => t_inPartition || SharesTheCores() ? 1 : Cores;

    /// <summary>The most threads a kernel may use: <see cref="MaxDegreeOfParallelism"/>, at most the core count.</summary>
    public static int Cores => Math.Max(1, Math.Min(MaxDegreeOfParallelism, Environment.ProcessorCount));

    /// <summary>Whether another job runs beside this thread's, in its own group or in any group that encloses it.</summary>
    private static bool SharesTheCores()
    {
        for (var group = t_group; group is not null; group = group.Parent)
            if (Volatile.Read(ref group.Running) > 1) return true;
        return false;
    }

    /// <summary>Runs each job on a thread of its own and waits for all; rethrows the first failure (a cancellation only when nothing else failed).</summary>
    internal static T[] SideBySide<T>(IReadOnlyList<Func<T>> jobs) =>
        Scheduled(jobs.Select(job => (1, job)).ToArray(), cores: int.MaxValue);

    /// <summary>
    /// Runs jobs in list order, each on a thread of its own, starting the next whenever the widths of those running
    /// leave room for it within <paramref name="cores"/> (a job wider than that runs alone). Jobs that run together
    /// form one group: while more than one of it runs, each keeps its kernels on its own thread. Rethrows the first failure once every started job has ended;
    /// after a failure no further job starts.
    /// </summary>
    internal static T[] Scheduled<T>(IReadOnlyList<(int Width, Func<T> Job)> jobs, int cores)
    {
        var group = new JobGroup(0, t_group);
        var results = new T[jobs.Count];
        var errors = new Exception?[jobs.Count];
        var gate = new object();
        int next = 0, used = 0, running = 0;
        bool failed = false;
        // Under the gate: start every job that fits, in order.
        void StartFitting()
        {
            var starting = new List<(int Index, int Width)>();
            while (!failed && next < jobs.Count && (running == 0 || used + Math.Max(1, jobs[next].Width) <= cores))
            {
                int width = Math.Max(1, jobs[next].Width);
                starting.Add((next++, width));
                used += width;
                running++;
            }
            // Counted before any of them starts, so no job sees itself alone while others are about to run beside it.
            Interlocked.Add(ref group.Running, starting.Count);
            foreach (var (index, width) in starting)
            {
                new Thread(() =>
                {
                    t_group = group;
                    try { results[index] = jobs[index].Job(); }
                    catch (Exception e) { errors[index] = e; }
                    finally
                    {
                        t_group = null;
                        Interlocked.Decrement(ref group.Running);
                        lock (gate)
                        {
                            used -= width;
                            running--;
                            if (errors[index] is not null) failed = true;
                            StartFitting();
                            Monitor.PulseAll(gate);
                        }
                    }
                }) { IsBackground = true, Name = $"Shears job {index + 1}" }.Start();
            }
        }
        lock (gate)
        {
            StartFitting();
            while (running > 0) Monitor.Wait(gate);
        }
        var error = errors.FirstOrDefault(e => e is not null and not OperationCanceledException) ?? errors.FirstOrDefault(e => e is not null);
        if (error is not null) ExceptionDispatchInfo.Throw(error);
        return results;
    }

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
        if (Interlocked.CompareExchange(ref s_helpersBusy, 1, 0) == 0)
        {
            try
            {
                Helper[] pool = EnsureHelpers(helpers);
                for (int i = 0; i < helpers; i++) pool[i].Post(job);
                job.Participate();
                job.WaitForPartitions();
            }
            finally
            {
                Volatile.Write(ref s_helpersBusy, 0);
            }
        }
        else
        {
            for (int i = 0; i < helpers; i++) ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
            job.Participate();
            job.WaitForPartitions();
        }
        Exception? error = job.Error;
        job.Release();
        if (error is not null) ExceptionDispatchInfo.Throw(error);
    }

    private static Helper[] EnsureHelpers(int count)
    {
        Helper[] pool = Volatile.Read(ref s_helpers);
        if (pool.Length >= count) return pool;
        lock (s_startLock)
        {
            pool = s_helpers;
            if (pool.Length >= count) return pool;
            var grown = new Helper[count];
            Array.Copy(pool, grown, pool.Length);
            for (int i = pool.Length; i < count; i++) grown[i] = new Helper(i);
            Volatile.Write(ref s_helpers, grown);
            return grown;
        }
    }

    /// <summary>A unit a helper can run: participate in a job, then drop its reference.</summary>
    private interface IJob
    {
        void Participate();
        void Release();
    }

    /// <summary>A dedicated helper thread with a one-job mailbox.</summary>
    private sealed class Helper
    {
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
        private IJob? _mailbox;
        private int _sleeping;

        public Helper(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Shears kernel helper {index + 1}" };
            thread.Start();
        }

        public void Post(IJob job)
        {
            // A job still in the mailbox belongs to a finished call (its partitions are all done): drop it.
            Interlocked.Exchange(ref _mailbox, job)?.Release();
            if (Volatile.Read(ref _sleeping) == 1) _wake.Set();
        }

        private void Loop()
        {
            long idleSince = Stopwatch.GetTimestamp();
            var spinner = new SpinWait();
            while (true)
            {
                IJob? job = Interlocked.Exchange(ref _mailbox, null);
                if (job is not null)
                {
                    job.Participate();
                    job.Release();
                    idleSince = Stopwatch.GetTimestamp();
                    spinner.Reset();
                    continue;
                }
                if (Stopwatch.GetTimestamp() - idleSince < s_spinTicks)
                {
                    // Busy-spins briefly, then yields: on a machine with more runnable threads than cores an
                    // idle helper must not take the core from the thread that will post the next job.
                    spinner.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                // Sleep, without losing a post that races with going to sleep: publish _sleeping, then look again.
                _wake.Reset();
                Interlocked.Exchange(ref _sleeping, 1);
                if (Volatile.Read(ref _mailbox) is null) _wake.Wait();
                Interlocked.Exchange(ref _sleeping, 0);
                idleSince = Stopwatch.GetTimestamp();
            }
        }
    }

    private sealed class Job<TWork> : IThreadPoolWorkItem, IJob where TWork : struct, IPartitionedWork
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
            bool outer = t_inPartition;
            t_inPartition = true;
            try
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
            finally
            {
                t_inPartition = outer;
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
