namespace Shears.Tensors;

/// <summary>
/// How many threads the tensor kernels (GEMM, im2col, layout moves) may use per call. Defaults to the core
/// count, or to the SHEARS_THREADS environment variable when that is a positive integer. Lower it when several
/// processes share the machine: a kernel split across more threads than the cores it actually gets waits for
/// its slowest, preempted thread. Results are bit-for-bit identical for every setting.
/// </summary>
public static class KernelThreads
{
    public static int Max
    {
        get => ForkJoin.MaxDegreeOfParallelism;
        set
        {
            if (value < 1) ThrowHelper.NotPositive(nameof(value), value);
            ForkJoin.MaxDegreeOfParallelism = value;
        }
    }

    /// <summary>The threads a kernel called on this thread may use now (1 while it shares the cores with other jobs).</summary>
    public static int Current => ForkJoin.Threads;

    /// <summary>The cores kernels may use when nothing runs beside them: <see cref="Max"/>, at most the core count.</summary>
    public static int Cores => ForkJoin.Cores;

    /// <summary>
    /// Runs independent <paramref name="jobs"/> side by side, each on a thread of its own, and returns their results
    /// in order. While more than one runs, each keeps its kernels on its own thread, with no waiting for a partner
    /// thread at every kernel call (two CNN-3 training steps side by side, one thread each, take 15.3 ms where one
    /// step with two threads takes 9.3); the last one left gets every core again. Results are the same bits as one
    /// after the other. The first failure is rethrown once every job has ended. A job may run jobs side by side
    /// of its own: theirs stay on one thread each while anything else runs, in their group or in an enclosing one.
    /// </summary>
    public static T[] RunSideBySide<T>(IReadOnlyList<Func<T>> jobs) => ForkJoin.SideBySide(jobs);

    /// <summary>
    /// Runs <paramref name="jobs"/> in list order on <see cref="Cores"/> cores: each starts, on a thread of its own, as
    /// soon as the widths of the jobs running leave room for its width (the threads it will use: 2 for a job that runs
    /// two jobs side by side itself); a job wider than the cores runs alone. While several run, each keeps its kernels
    /// on one thread, as <see cref="RunSideBySide"/>'s do. Results come back in list order and are the same bits as one
    /// after the other. Put the longest first: the short ones then fill the cores beside it.
    /// </summary>
    public static T[] RunScheduled<T>(IReadOnlyList<(int Width, Func<T> Job)> jobs) => ForkJoin.Scheduled(jobs, ForkJoin.Cores);
}
