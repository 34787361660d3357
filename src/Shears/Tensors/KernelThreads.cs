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

    /// <summary>
    /// Runs independent <paramref name="jobs"/> side by side, each on a thread of its own, and returns their results
    /// in order. While more than one runs, each keeps its kernels on its own thread, with no waiting for a partner
    /// thread at every kernel call (two CNN-3 training steps side by side, one thread each, take 15.3 ms where one
    /// step with two threads takes 9.3); the last one left gets every core again. Results are the same bits as one
    /// after the other. The first failure is rethrown once every job has ended.
    /// </summary>
    public static T[] RunSideBySide<T>(IReadOnlyList<Func<T>> jobs) => ForkJoin.SideBySide(jobs);
}
