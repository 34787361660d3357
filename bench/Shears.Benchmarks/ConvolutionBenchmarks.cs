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
    /// <summary>Multiply-adds ×2 of one pass (forward, weight gradient or input gradient) with 64 output channels.</summary>
    public double Flops => 2.0 * 64 * Channels * Kernel * Kernel * Batch * Out * Out;
    public double Bytes => 4.0 * (ImageFloats + (long)Batch * 64 * Out * Out);

    public override string ToString() => $"{Name} {Batch}x{Channels}x{Size}x{Size} k{Kernel}p{Padding}s{Stride} t{Threads}";
}

/// <summary>The convolution kernels the conv layers run every training step, at CNN-3's shapes.</summary>
[MemoryDiagnoser]
public class ConvolutionBenchmarks
{
    private const int OutChannels = 64;
    private float[] _images = [], _weight = [], _bias = [], _output = [], _weightGradient = [], _biasGradient = [], _imagesGradient = [];
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
        var c = Case;
        _images = GemmBenchmarks.Fill(rng, (int)c.ImageFloats);
        _weight = GemmBenchmarks.Fill(rng, OutChannels * c.Channels * c.Kernel * c.Kernel);
        _bias = GemmBenchmarks.Fill(rng, OutChannels);
        _output = GemmBenchmarks.Fill(rng, c.Batch * OutChannels * c.Out * c.Out);
        _weightGradient = new float[_weight.Length];
        _biasGradient = new float[OutChannels];
        _imagesGradient = new float[_images.Length];
        _savedThreads = ForkJoin.MaxDegreeOfParallelism;
        ForkJoin.MaxDegreeOfParallelism = c.Threads;
    }

    [GlobalCleanup]
    public void Cleanup() => ForkJoin.MaxDegreeOfParallelism = _savedThreads;

    [Benchmark]
    public void Forward() =>
        Convolution.Forward(_images, _weight, _bias, _output, Case.Batch, Case.Channels, Case.Size, Case.Size, OutChannels, Case.Kernel, Case.Padding, Case.Stride);

    /// <summary>The output buffer stands in for the output gradient.</summary>
    [Benchmark]
    public void WeightGradient() =>
        Convolution.WeightGradient(_images, _output, _weightGradient, _biasGradient, Case.Batch, Case.Channels, Case.Size, Case.Size, OutChannels, Case.Kernel, Case.Padding, Case.Stride);

    [Benchmark]
    public void InputGradient() =>
        Convolution.InputGradient(_output, _weight, _imagesGradient, Case.Batch, Case.Channels, Case.Size, Case.Size, OutChannels, Case.Kernel, Case.Padding, Case.Stride);
}
