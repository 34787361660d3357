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
}
