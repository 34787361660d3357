using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// Splits [0, count) into a fixed number of contiguous chunks and runs them in parallel. The split depends
/// only on the count, never on timing, so element-wise work stays reproducible. It obeys the same cap as the
/// tensor kernels (<see cref="KernelThreads.Max"/>, SHEARS_THREADS, <see cref="KernelThreads.RunSideBySide"/>), so one setting governs every thread Shears uses.
/// </summary>
internal static class ParallelRange
{
    public static void For(int count, int minPerChunk, Action<int, int> body)
    {
        int chunks = Math.Min(KernelThreads.Current, Math.Max(1, count / Math.Max(1, minPerChunk)));
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, chunks, c =>
        {
            int start = (int)((long)count * c / chunks);
            int end = (int)((long)count * (c + 1) / chunks);
            body(start, end);
        });
    }
}
