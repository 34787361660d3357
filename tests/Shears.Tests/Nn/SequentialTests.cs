using Shears.Nn;
using Shears.Tests.TestSupport;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Nn;

public class SequentialTests
{
    private static Sequential Tiny() =>
        new("tiny", [1, 4, 5], new Flatten("flatten"), new Linear("fc1", 20, 7), new Relu("relu1"), new Linear("fc2", 7, 3));

    [Fact]
    public void A_copy_has_the_same_values_masks_and_outputs_and_is_independent_of_the_original()
    {
        var model = Shears.Models.ModelZoo.Create("cnn3", seed: 4);
        var fc = model.GetParameter("fc.weight");
        var mask = new float[fc.Count];
        for (int i = 0; i < mask.Length; i += 3) mask[i] = 1;
        fc.SetMask(new Shears.Tensors.Tensor(mask, fc.Value.Shape.ToArray()));

        var copy = model.TryCopy()!;
        Assert.Equal(model.Layers.Select(l => (l.GetType(), l.Name)), copy.Layers.Select(l => (l.GetType(), l.Name)));
        Assert.Equal(model.Snapshot().Values, copy.Snapshot().Values);
        Assert.Equal(model.Snapshot().Masks, copy.Snapshot().Masks);
        var input = new Shears.Tensors.Tensor(RandomFloats(new Random(2), 3 * 784), 3, 1, 28, 28);
        Assert.Equal(model.Forward(input, training: false).ReadOnlySpan.ToArray(), copy.Forward(input, training: false).ReadOnlySpan.ToArray());

        copy.GetParameter("conv1.weight").Value.Span[0] += 1;
        copy.GetParameter("conv2.weight").SetMask(null);
        Assert.NotEqual(model.GetParameter("conv1.weight").Value.ReadOnlySpan[0], copy.GetParameter("conv1.weight").Value.ReadOnlySpan[0]);
        Assert.NotSame(model.GetParameter("conv2.weight").Value, copy.GetParameter("conv2.weight").Value);
        Assert.NotNull(model.GetParameter("fc.weight").Mask);

        // A layer that cannot make a blank of itself makes the model uncopyable.
        Assert.Null(new Sequential("odd", [4], new Linear("fc", 4, 4), new Opaque("opaque")).TryCopy());
        Assert.Null(new Sequential("odd", [4], new Linear("fc", 4, 4), new Opaque("opaque")).TryCopies(2));

        // One model per job side by side: the model itself first, then copies of it.
        var three = model.TryCopies(3)!;
        Assert.Same(model, three[0]);
        Assert.Equal(3, three.Distinct().Count());
        Assert.All(three, m => Assert.Equal(model.Snapshot().Masks, m.Snapshot().Masks));
        Assert.Empty(model.TryCopies(0)!);
    }

    private sealed class Opaque(string name) : Layer(name)
    {
        public override int[] OutputShape(ReadOnlySpan<int> inputShape) => inputShape.ToArray();
        public override Shears.Tensors.Tensor Forward(Shears.Tensors.Tensor input, bool training) => input;
        public override Shears.Tensors.Tensor? Backward(Shears.Tensors.Tensor outputGradient, bool needInputGradient) => outputGradient;
    }

    /// <summary>Records the Backward calls it gets, passing the gradient through.</summary>
    private sealed class Spy(string name) : Layer(name)
    {
        public List<bool> Asked { get; } = [];
        public override int[] OutputShape(ReadOnlySpan<int> inputShape) => inputShape.ToArray();
        public override Shears.Tensors.Tensor Forward(Shears.Tensors.Tensor input, bool training) => input;
        public override Shears.Tensors.Tensor? Backward(Shears.Tensors.Tensor outputGradient, bool needInputGradient)
        {
            Asked.Add(needInputGradient);
            return needInputGradient ? outputGradient : null;
        }
    }

    [Fact]
    public void Backward_stops_at_the_first_layer_with_parameters_and_asks_it_for_no_input_gradient()
    {
        Spy before = new("before"), between = new("between");
        var model = new Sequential("m", [2, 3], before, new Flatten("flatten"), new Linear("fc1", 6, 4), between, new Linear("fc2", 4, 2));
        Initializer.HeUniform(model, seed: 1);
        model.Forward(new Tensor(Enumerable.Range(0, 12).Select(i => i / 10f).ToArray(), 2, 2, 3), training: true);
        model.Backward(new Tensor([1f, -1f, 0.5f, 0.25f], 2, 2));
        Assert.Empty(before.Asked);               // nothing before fc1 has a gradient to take
        Assert.Equal([true], between.Asked);      // fc2 passes its input gradient back to fc1
        Assert.NotEqual(0f, model.GetParameter("fc1.weight").Gradient.ReadOnlySpan.ToArray().Select(MathF.Abs).Sum());

        // A model without parameters runs backward through every layer, the first asked for nothing.
        Spy only = new("only"), last = new("last");
        var plain = new Sequential("plain", [3], only, last);
        plain.Forward(new Tensor([1f, 2f, 3f], 1, 3), training: true);
        plain.Backward(new Tensor([1f, 1f, 1f], 1, 3));
        Assert.Equal([false], only.Asked);
        Assert.Equal([true], last.Asked);
    }

    [Fact]
    public void Sequential_infers_the_output_shape_through_the_chain()
    {
        var model = new Sequential("m", [3, 9, 7], new MaxPool2d("pool", 2), new Flatten("flatten"), new Linear("fc", 3 * 4 * 3, 5));
        Assert.Equal([3, 9, 7], model.InputShape);
        Assert.Equal([5], model.OutputShape);
        Assert.Equal(5, model.ClassCount);
        Assert.Equal(3, model.Layers.Count);
    }

    [Fact]
    public void Sequential_construction_rejects_a_mismatched_chain_naming_the_layer()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new Sequential("m", [1, 4, 5], new Flatten("flatten"), new Linear("fc1", 20, 7), new Relu("relu1"), new Linear("fc2", 8, 3)));
        Assert.Contains("fc2", e.Message);
        Assert.Contains("[8]", e.Message);
        Assert.Contains("[7]", e.Message);

        var pool = Assert.Throws<ArgumentException>(() => new Sequential("m", [1, 4, 5], new Linear("fc1", 20, 7)));
        Assert.Contains("fc1", pool.Message);

        var small = Assert.Throws<ArgumentException>(() => new Sequential("m", [1, 1, 5], new MaxPool2d("pool1", 2)));
        Assert.Contains("pool1", small.Message);
    }

    [Fact]
    public void Sequential_rejects_duplicate_names_and_an_empty_chain()
    {
        Assert.Contains("fc.weight", Assert.Throws<ArgumentException>(() =>
            new Sequential("m", [4], new Linear("fc", 4, 4), new Relu("r"), new Linear("fc", 4, 2))).Message);
        Assert.Contains("'r'", Assert.Throws<ArgumentException>(() =>
            new Sequential("m", [4], new Relu("r"), new Relu("r"))).Message);
        Assert.Throws<ArgumentException>(() => new Sequential("m", [4]));
    }

    [Fact]
    public void Sequential_parameter_names_are_unique_and_in_layer_order()
    {
        var model = Tiny();
        var names = model.Parameters.Select(p => p.Name).ToArray();
        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], names);
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.Equal(["fc1.weight", "fc2.weight"], model.PrunableParameters.Select(p => p.Name).ToArray());
        Assert.Same(model.Parameters[2], model.GetParameter("fc2.weight"));
        Assert.Contains("fc3.weight", Assert.Throws<KeyNotFoundException>(() => model.GetParameter("fc3.weight")).Message);
    }

    [Fact]
    public void Sequential_counts_connections_of_prunable_weights_only()
    {
        var model = Tiny();
        Assert.Equal((140L + 21L, 140L + 21L), model.Connections());
        var mask = new Tensor(7, 20);
        mask.Span[..100].Fill(1f);
        model.GetParameter("fc1.weight").SetMask(mask);
        Assert.Equal((161L, 100L + 21L), model.Connections());
    }

    [Fact]
    public void Sequential_forward_rejects_a_wrong_sample_shape_naming_the_model()
    {
        var model = Tiny();
        Assert.Contains("tiny", Assert.Throws<ArgumentException>(() => model.Forward(new Tensor(2, 1, 5, 4), training: false)).Message);
        Assert.Contains("tiny", Assert.Throws<ArgumentException>(() => model.Forward(new Tensor(2, 20), training: false)).Message);
    }

    /// <summary>The tiny model's mean cross-entropy in double; also reports how close any hidden pre-activation comes to the ReLU kink.</summary>
    private static double ReferenceLoss(double[] x, IReadOnlyList<double[]> p, int[] labels, out double closestToKink)
    {
        int batch = labels.Length;
        var h = LinearTests.Reference(x, p[0], p[1], batch, 20, 7);
        closestToKink = h.Min(Math.Abs);
        for (int i = 0; i < h.Length; i++) h[i] = Math.Max(h[i], 0);
        var logits = LinearTests.Reference(h, p[2], p[3], batch, 7, 3);
        return SoftmaxCrossEntropyTests.Reference(logits, labels, 3);
    }

    /// <summary>
    /// Sequential runs a ReLU that precedes a max-pool after the pool. The logits, every parameter gradient and
    /// the input gradient must equal those of the layers run one by one in declared order, including windows
    /// whose inputs are all negative (ReLU then ties them at zero). (A ReLU first keeps the convolution from
    /// running fused with its pool, which the next test covers.)
    /// </summary>
    [Fact]
    public void Sequential_running_pool_before_relu_gives_the_declared_networks_outputs_and_gradients()
    {
        Sequential Build() => new("cnn", [2, 8, 10],
            new Relu("relu0"), new Conv2d("conv", 2, 4, 3, padding: 1), new Relu("relu"), new MaxPool2d("pool", 2),
            new Flatten("flatten"), new Linear("fc", 4 * 4 * 5, 3), new Relu("relu2"));
        var rng = new Random(5);
        var model = Build();
        var declared = Build();
        Initializer.HeUniform(model, seed: 3);
        Initializer.HeUniform(declared, seed: 3);
        foreach (var name in new[] { "conv.bias", "fc.bias" })
        {
            model.GetParameter(name).Value.Span.Fill(-0.3f);   // many all-negative windows
            declared.GetParameter(name).Value.Span.Fill(-0.3f);
        }
        const int batch = 3;
        var input = RandomFloats(rng, batch * 2 * 8 * 10);
        var upstream = RandomFloats(rng, batch * 3);

        var logits = model.Forward(new Tensor((float[])input.Clone(), batch, 2, 8, 10), training: true).ReadOnlySpan.ToArray();
        model.Backward(new Tensor((float[])upstream.Clone(), batch, 3));

        Tensor x = new((float[])input.Clone(), batch, 2, 8, 10);
        var outputs = new List<float[]>();
        foreach (var layer in declared.Layers)
        {
            x = layer.Forward(x, training: true);
            outputs.Add(x.ReadOnlySpan.ToArray());
        }
        Assert.Equal(x.ReadOnlySpan.ToArray(), logits);
        Assert.Contains(0f, outputs[3]);   // some pool window saw only ReLU zeros
        Tensor g = new((float[])upstream.Clone(), batch, 3);
        for (int i = declared.Layers.Count - 1; i >= 0; i--) g = declared.Layers[i].Backward(g, needInputGradient: i > 0)!;
        for (int k = 0; k < model.Parameters.Count; k++)
            Assert.Equal(declared.Parameters[k].Gradient.ReadOnlySpan.ToArray(), model.Parameters[k].Gradient.ReadOnlySpan.ToArray());
    }

    /// <summary>
    /// A first convolution followed (after its ReLU) by a 2×2 max-pool runs as one stage (<see cref="ConvolutionMaxPool"/>):
    /// the logits and every parameter gradient must be those of the declared layers run one by one, up to the order
    /// of their sums. (TrainingChunkTests check CNN-3's chunked steps, which run it, bit for bit.)
    /// </summary>
    [Fact]
    public void Sequential_running_its_first_convolution_with_the_pool_gives_the_declared_networks_outputs_and_gradients()
    {
        Sequential Build() => new("cnn", [2, 12, 10],
            new Conv2d("conv", 2, 4, 3, padding: 1), new Relu("relu"), new MaxPool2d("pool", 2),
            new Conv2d("conv2", 4, 3, 3, padding: 1), new Relu("relu2"),
            new Flatten("flatten"), new Linear("fc", 3 * 6 * 5, 3));
        var rng = new Random(8);
        var model = Build();
        var declared = Build();
        Initializer.HeUniform(model, seed: 4);
        Initializer.HeUniform(declared, seed: 4);
        Assert.Equal("conv+pool", model.ExecutionOrder[0].Name);
        Assert.Equal(["conv+pool", "relu", "conv2", "relu2", "flatten", "fc"], model.ExecutionOrder.Select(l => l.Name));
        const int batch = 19;
        var input = RandomFloats(rng, batch * 2 * 12 * 10);
        var upstream = RandomFloats(rng, batch * 3);

        var logits = model.Forward(new Tensor((float[])input.Clone(), batch, 2, 12, 10), training: true).ReadOnlySpan.ToArray();
        model.Backward(new Tensor((float[])upstream.Clone(), batch, 3));
        var fused = model.Parameters.Select(p => p.Gradient.ReadOnlySpan.ToArray()).ToArray();

        Tensor x = new((float[])input.Clone(), batch, 2, 12, 10);
        foreach (var layer in declared.Layers) x = layer.Forward(x, training: true);
        Tolerance.AssertClose(logits, x.ReadOnlySpan, atol: 1e-5, rtol: 1e-5);
        Tensor g = new((float[])upstream.Clone(), batch, 3);
        for (int i = declared.Layers.Count - 1; i >= 0; i--) g = declared.Layers[i].Backward(g, needInputGradient: i > 0)!;
        for (int k = 0; k < model.Parameters.Count; k++)
            Tolerance.AssertClose(fused[k], declared.Parameters[k].Gradient.ReadOnlySpan, atol: 1e-5, rtol: 1e-4);
    }

    [Fact]
    public void Sequential_backward_matches_finite_differences_of_the_double_loss()
    {
        var rng = new Random(42);
        var model = Tiny();
        Initializer.HeUniform(model, seed: 7);
        foreach (var p in model.Parameters.Where(p => !p.Prunable)) Fill(p, rng, 0.5);
        const int batch = 3;
        var input = RandomFloats(rng, batch * 20);
        int[] labels = [0, 2, 1];

        var logits = model.Forward(new Tensor((float[])input.Clone(), batch, 1, 4, 5), training: true);
        var loss = new SoftmaxCrossEntropy();
        var (value, gradient) = loss.Compute(logits, labels);
        model.Backward(gradient);

        var x = ToDouble(input);
        var theta = model.Parameters.Select(p => ToDouble(p.Value.ReadOnlySpan)).ToList();
        AssertClose(ReferenceLoss(x, theta, labels, out double closest), value, "loss", 1e-5, 1e-5);
        Assert.True(closest > 1e-3, $"a hidden pre-activation is {closest} from the ReLU kink; pick another seed");
        for (int k = 0; k < theta.Count; k++)
            AssertAllClose(CentralDifferences(theta[k], () => ReferenceLoss(x, theta, labels, out _)), model.Parameters[k].Gradient.ReadOnlySpan,
                $"dLoss/d{model.Parameters[k].Name}", 1e-5, 1e-3);
    }

    [Fact]
    public void ModelState_restores_values_and_masks_captured_earlier()
    {
        var rng = new Random(1);
        var model = Tiny();
        foreach (var p in model.Parameters) Fill(p, rng);
        var mask = new Tensor(3, 7);
        for (int i = 0; i < mask.Length; i++) mask.Span[i] = i % 3 == 0 ? 0f : 1f;
        model.GetParameter("fc2.weight").SetMask(mask);
        var expected = model.Parameters.Select(p => p.Value.ReadOnlySpan.ToArray()).ToList();

        var state = model.Snapshot();
        Assert.Equal(model.Parameters.Select(p => p.Name).Order(), state.Values.Keys.Order());
        Assert.Equal(["fc2.weight"], state.Masks.Keys.ToArray());

        // Change everything: values, the existing mask, and add a mask the snapshot did not have.
        foreach (var p in model.Parameters) Fill(p, rng);
        mask.Span.Fill(1f);
        var other = new Tensor(7, 20);
        model.GetParameter("fc1.weight").SetMask(other);

        state.Restore(model);
        for (int k = 0; k < expected.Count; k++) Assert.Equal(expected[k], model.Parameters[k].Value.ReadOnlySpan.ToArray());
        Assert.Null(model.GetParameter("fc1.weight").Mask);
        var restored = model.GetParameter("fc2.weight").Mask!;
        Assert.Equal(14, model.GetParameter("fc2.weight").KeptCount);
        Assert.Equal([3, 7], restored.Shape.ToArray());
        Assert.NotSame(mask, restored);

        // The snapshot is a copy: restoring twice works even after the model changed again.
        foreach (var p in model.Parameters) Fill(p, rng);
        state.Restore(model);
        for (int k = 0; k < expected.Count; k++) Assert.Equal(expected[k], model.Parameters[k].Value.ReadOnlySpan.ToArray());
    }

    private static Dictionary<string, float[]> ValuesOf(Sequential model) =>
        model.Parameters.ToDictionary(p => p.Name, p => p.Value.ReadOnlySpan.ToArray());

    [Fact]
    public void ModelState_restore_rejects_a_state_that_lacks_a_parameter_naming_it()
    {
        var model = Tiny();
        var values = ValuesOf(model);
        values.Remove("fc2.bias");
        var e = Assert.Throws<ArgumentException>(() => ModelState.From(values).Restore(model));
        Assert.Contains("fc2.bias", e.Message);
    }

    [Fact]
    public void ModelState_restore_rejects_a_state_with_an_extra_parameter_naming_it()
    {
        var model = Tiny();
        var values = ValuesOf(model);
        values["fc3.weight"] = new float[3];
        var e = Assert.Throws<ArgumentException>(() => ModelState.From(values).Restore(model));
        Assert.Contains("fc3.weight", e.Message);
    }

    [Fact]
    public void ModelState_restore_rejects_a_mask_for_a_parameter_the_model_lacks()
    {
        var model = Tiny();
        var masks = new Dictionary<string, float[]> { ["fc9.weight"] = [1f] };
        Assert.Contains("fc9.weight", Assert.Throws<ArgumentException>(() => ModelState.From(ValuesOf(model), masks).Restore(model)).Message);
    }

    [Theory]
    [InlineData("fc1.weight", 139)]
    [InlineData("fc1.weight", 141)]
    [InlineData("fc2.bias", 0)]
    public void ModelState_restore_rejects_a_wrong_size_and_changes_nothing(string name, int size)
    {
        var rng = new Random(4);
        var model = Tiny();
        foreach (var p in model.Parameters) Fill(p, rng);
        var before = ValuesOf(model);
        var values = ValuesOf(model);
        foreach (var v in values.Values) v.AsSpan().Fill(0.25f);
        values[name] = new float[size];
        var e = Assert.Throws<ArgumentException>(() => ModelState.From(values).Restore(model));
        Assert.Contains(name, e.Message);
        foreach (var p in model.Parameters) Assert.Equal(before[p.Name], p.Value.ReadOnlySpan.ToArray());
    }

    [Theory]
    [InlineData(20)]
    [InlineData(22)]
    public void ModelState_restore_rejects_a_mask_of_the_wrong_size_and_changes_nothing(int size)
    {
        var rng = new Random(5);
        var model = Tiny();
        foreach (var p in model.Parameters) Fill(p, rng);
        var before = ValuesOf(model);
        var values = ValuesOf(model);
        foreach (var v in values.Values) v.AsSpan().Fill(0.25f);
        var masks = new Dictionary<string, float[]> { ["fc2.weight"] = Enumerable.Repeat(1f, size).ToArray() };
        var e = Assert.Throws<ArgumentException>(() => ModelState.From(values, masks).Restore(model));
        Assert.Contains("fc2.weight", e.Message);
        foreach (var p in model.Parameters) Assert.Equal(before[p.Name], p.Value.ReadOnlySpan.ToArray());
        Assert.Null(model.GetParameter("fc2.weight").Mask);
    }

    [Fact]
    public void ModelState_restore_rejects_a_mask_with_entries_other_than_zero_and_one_and_changes_nothing()
    {
        var rng = new Random(6);
        var model = Tiny();
        foreach (var p in model.Parameters) Fill(p, rng);
        var before = ValuesOf(model);
        var values = ValuesOf(model);
        foreach (var v in values.Values) v.AsSpan().Fill(0.25f);
        var bad = Enumerable.Repeat(1f, 21).ToArray();
        bad[5] = 0.5f;
        var e = Assert.Throws<ArgumentException>(() => ModelState.From(values, new() { ["fc2.weight"] = bad }).Restore(model));
        Assert.Contains("fc2.weight", e.Message);
        foreach (var p in model.Parameters) Assert.Equal(before[p.Name], p.Value.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void Multiply_adds_per_sample_count_the_dense_convolutions_and_fully_connected_layers()
    {
        // CNN-3: 3×3×1×32 at 28×28, 3×3×32×64 at 14×14, then 3136×10; FCN-2: 784·300 + 300·100 + 100·10.
        Assert.Equal(288L * 784 + 18_432L * 196 + 31_360, Shears.Models.ModelZoo.Create("cnn3").MultiplyAddsPerSample());
        Assert.Equal(266_200L, Shears.Models.ModelZoo.Create("fcn2").MultiplyAddsPerSample());
        Assert.Equal(7_840L, Shears.Models.ModelZoo.Create("fcn1").MultiplyAddsPerSample());
    }
}
