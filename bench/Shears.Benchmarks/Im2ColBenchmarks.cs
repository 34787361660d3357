using BenchmarkDotNet.Attributes;
using Shears.Tensors;

namespace Shears.Benchmarks;

/// <summary>One convolution input geometry (NCHW batch, square kernel).</summary>
public sealed class ConvCase : IWorkload
{
    public ConvCase(string name, int batch, int channels, int size, int kernel, int padding, int stride, int threads)
    {
        Name = name; Batch = batch; Channels = channels; Size = size; Kernel = kernel; Padding = padding; Stride = stride; Threads = threads;
    }

    public string Name { get; }
    public int Batch { get; }
    public int Channels { get; }
    public int Size { get; }
    public int Kernel { get; }
    public int Padding { get; }
    public int Stride { get; }
    public int Threads { get; }
    public int Out => Im2Col.OutputSize(Size, Kernel, Padding, Stride);
    public long ImageFloats => (long)Batch * Channels * Size * Size;
    public long ColumnFloats => (long)Channels * Kernel * Kernel * Batch * Out * Out;
    public double Flops => 0;
    public double Bytes => 4.0 * (ImageFloats + ColumnFloats);

    public override string ToString() => $"{Name} {Batch}x{Channels}x{Size}x{Size} k{Kernel}p{Padding}s{Stride} t{Threads}";
}

/// <summary>im2col / col2im and the NCHW ⇄ channels-major layout moves the conv layers run every step.</summary>
[MemoryDiagnoser]
public class Im2ColBenchmarks
{
    private float[] _images = [], _columns = [], _nchw = [], _channelsMajor = [];
    private int _savedThreads;

    public static IEnumerable<ConvCase> Cases()
    {
        int[] threads = Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];
        foreach (int t in threads)
        {
            yield return new ConvCase("conv1", 128, 1, 28, 3, 1, 1, t);
            yield return new ConvCase("conv2", 128, 32, 14, 3, 1, 1, t);
            yield return new ConvCase("conv2-s2", 128, 32, 14, 3, 1, 2, t);
        }
    }

    [ParamsSource(nameof(Cases))]
    public ConvCase Case { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(7);
        _images = GemmBenchmarks.Fill(rng, (int)Case.ImageFloats);
        _columns = GemmBenchmarks.Fill(rng, (int)Case.ColumnFloats);
        _nchw = GemmBenchmarks.Fill(rng, (int)Case.ImageFloats);
        _channelsMajor = new float[Case.ImageFloats];
        _savedThreads = ForkJoin.MaxDegreeOfParallelism;
        ForkJoin.MaxDegreeOfParallelism = Case.Threads;
    }

    [GlobalCleanup]
    public void Cleanup() => ForkJoin.MaxDegreeOfParallelism = _savedThreads;

    [Benchmark]
    public void Forward() =>
        Im2Col.Forward(_images, Case.Batch, Case.Channels, Case.Size, Case.Size, Case.Kernel, Case.Padding, Case.Stride, _columns);

    [Benchmark]
    public void Backward() =>
        Im2Col.Backward(_columns, Case.Batch, Case.Channels, Case.Size, Case.Size, Case.Kernel, Case.Padding, Case.Stride, _images);

    /// <summary>NCHW → [channels, batch·spatial] on the input images (GB/s is for im2col, not this).</summary>
    [Benchmark]
    public void LayoutToChannelsMajor() =>
        Layout.BatchMajorToChannelsMajor(_nchw, Case.Batch, Case.Channels, Case.Size * Case.Size, _channelsMajor);
}
