using Shears.Tensors;

namespace Shears.Tests.TestSupport;

/// <summary>Runs code as partition 0 of a two-partition fork/join, where the kernels it calls get one thread.</summary>
public static class OneThread
{
    private sealed class Box<T>
    {
        public T? Value;
        public int Threads;
    }

    private readonly struct Work<T>(Func<T> action, Box<T> box) : IPartitionedWork
    {
        public void Execute(int partition)
        {
            if (partition != 0) return;
            box.Threads = ForkJoin.Threads;
            box.Value = action();
        }
    }

    public static T Run<T>(Func<T> action)
    {
        var box = new Box<T>();
        ForkJoin.Run(new Work<T>(action, box), 2);
        Assert.Equal(1, box.Threads);
        return box.Value!;
    }
}
