using System.Text.Json;
using Shears.Data;
using Shears.Nn;
using Shears.Onnx;
using Shears.Tests.TestSupport;
using static Shears.Tests.Onnx.OnnxTestSupport;

namespace Shears.Tests.Onnx;

/// <summary>
/// Models trained and exported by PyTorch (Fixtures/pytorch, made by make_fixture.py there) import and give
/// PyTorch's own logits and predictions on the first MNIST test images.
/// </summary>
public sealed class PyTorchInteropTests
{
    private const double Atol = 1e-4;
    private const double Rtol = 1e-4;

    private static readonly Lazy<IdxImages> s_testImages =
        new(() => IdxReader.ReadImages(Path.Combine(MnistFolder(), "t10k-images-idx3-ubyte.gz")));

    private sealed record Expected(int[] Indices, int[] Predictions, double[] Logits, int Classes);

    /// <summary>shared/data/mnist beside the repository: the first folder up from the test binaries that holds it.</summary>
    private static string MnistFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "mnist");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException($"No shared/data/mnist folder above {AppContext.BaseDirectory}.");
    }

    private static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch", file);

    private static Expected ReadExpected(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(FixturePath(name + "_expected.json")));
        var root = doc.RootElement;
        int[] indices = root.GetProperty("indices").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] predictions = root.GetProperty("predictions").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var rows = root.GetProperty("logits").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(indices.Length, rows.Length);
        return new Expected(indices, predictions, rows.SelectMany(r => r).ToArray(), rows[0].Length);
    }

    /// <summary>The chosen test images as PyTorch saw them: float32 pixel / 255, [N, 1, 28, 28].</summary>
    private static Tensor Images(int[] indices)
    {
        var images = s_testImages.Value;
        int size = images.Rows * images.Columns;
        var t = new Tensor(indices.Length, 1, images.Rows, images.Columns);
        var span = t.Span;
        for (int n = 0; n < indices.Length; n++)
            for (int i = 0; i < size; i++)
                span[n * size + i] = images.Pixels[indices[n] * size + i] / 255f;
        return t;
    }

    [Theory]
    [InlineData("fcn2", new[] { typeof(Flatten), typeof(Linear), typeof(Relu), typeof(Linear), typeof(Relu), typeof(Linear) })]
    [InlineData("cnn3", new[] { typeof(Conv2d), typeof(Relu), typeof(MaxPool2d), typeof(Conv2d), typeof(Relu), typeof(MaxPool2d), typeof(Flatten), typeof(Linear) })]
    public void A_pytorch_exported_model_imports_and_predicts_what_pytorch_predicts(string name, Type[] layerTypes)
    {
        var expected = ReadExpected(name);
        var model = OnnxImporter.Load(FixturePath(name + "_pytorch.onnx"));

        Assert.Equal(name + "_pytorch", model.Name); // PyTorch's graph name "torch_jit" gives way to the file's
        Assert.Equal([1, 28, 28], model.InputShape);
        Assert.Equal(layerTypes, model.Layers.Select(l => l.GetType()));
        Assert.Equal(model.Layers.Count, model.Layers.Select(l => l.Name).Distinct().Count());

        var logits = Logits(model, Images(expected.Indices));

        Tolerance.AssertClose(logits, expected.Logits, Atol, Rtol);
        Assert.Equal(expected.Predictions, Argmax(logits, expected.Classes));
    }

    [Theory]
    [InlineData("fcn2")]
    [InlineData("cnn3")]
    public void A_pytorch_model_re_exported_by_shears_still_gives_pytorch_logits_in_onnx_runtime(string name)
    {
        var expected = ReadExpected(name);
        var model = OnnxImporter.Load(FixturePath(name + "_pytorch.onnx"));

        var logits = RunOnnxRuntime(OnnxExporter.ToBytes(model), Images(expected.Indices));

        Tolerance.AssertClose(logits, expected.Logits, Atol, Rtol);
        Assert.Equal(expected.Predictions, Argmax(logits, expected.Classes));
    }
}
