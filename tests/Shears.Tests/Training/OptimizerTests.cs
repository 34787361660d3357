using Shears.Nn;
using Shears.Training;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Training;

public class OptimizerTests
{
    // 19 entries: a whole vector (or two) and a scalar tail, whatever Vector<float>.Count is; 5: a tail only.
    private static Parameter[] NewParameters(Random rng) =>
        [new("a.weight", new Tensor(RandomFloats(rng, 19), 19), prunable: true), new("a.bias", new Tensor(RandomFloats(rng, 5), 5), prunable: false)];

    /// <summary>Random gradients for <paramref name="steps"/> steps of every parameter: [step][parameter][entry].</summary>
    private static float[][][] Gradients(Random rng, Parameter[] parameters, int steps) =>
        Enumerable.Range(0, steps).Select(_ => parameters.Select(p => RandomFloats(rng, p.Count)).ToArray()).ToArray();

    private static void RunSteps(Optimizer optimizer, Parameter[] parameters, float[][][] gradients)
    {
        foreach (var step in gradients)
        {
            for (int k = 0; k < parameters.Length; k++) step[k].CopyTo(parameters[k].Gradient.Span);
            optimizer.Step();
        }
    }

    [Theory]
    [InlineData(0.1, 0.01, 0.9)]
    [InlineData(0.05, 0.0, 0.0)]
    [InlineData(0.2, 0.5, 0.5)]
    public void Sgd_steps_match_hand_computed_momentum_and_weight_decay(double lr, double wd, double mu)
    {
        var rng = new Random(1);
        var parameters = NewParameters(rng);
        var gradients = Gradients(rng, parameters, 3);
        var sgd = new Sgd(parameters, (float)lr, (float)wd, (float)mu);

        var w = parameters.Select(p => ToDouble(p.Value.ReadOnlySpan)).ToArray();
        var v = parameters.Select(p => new double[p.Count]).ToArray();
        foreach (var step in gradients)
            for (int k = 0; k < w.Length; k++)
                for (int i = 0; i < w[k].Length; i++)
                {
                    // v = μv + g + λw; w −= ηv
                    v[k][i] = mu * v[k][i] + step[k][i] + wd * w[k][i];
                    w[k][i] -= lr * v[k][i];
                }

        RunSteps(sgd, parameters, gradients);
        Assert.Equal(3, sgd.StepCount);
        for (int k = 0; k < parameters.Length; k++)
        {
            AssertAllClose(w[k], parameters[k].Value.ReadOnlySpan, $"{parameters[k].Name} value", 1e-6, 1e-5);
            AssertAllClose(v[k], sgd.State[k][0], $"{parameters[k].Name} velocity", 1e-6, 1e-5);
        }
    }

    [Fact]
    public void Sgd_first_step_is_a_plain_gradient_step_on_a_hand_worked_example()
    {
        var p = new Parameter("w", new Tensor([1f, -2f], 2), prunable: true);
        var sgd = new Sgd([p], learningRate: 0.5f, weightDecay: 0.1f, momentum: 0.9f);
        new float[] { 0.2f, 0.4f }.CopyTo(p.Gradient.Span);
        sgd.Step();
        // v = g + λw = [0.3, 0.2]; w = w − 0.5·v = [0.85, −2.1]
        Assert.Equal(0.85f, p.Value.ReadOnlySpan[0], 1e-6f);
        Assert.Equal(-2.1f, p.Value.ReadOnlySpan[1], 1e-6f);
    }

    [Theory]
    [InlineData(0.01, 0.0, 1.0)]
    [InlineData(0.01, 0.1, 1.0)]
    [InlineData(0.001, 0.0, 1.0)]
    [InlineData(0.01, 0.0, 1e-7)]  // gradients near ε: the bias-corrected ε matters
    public void Adam_three_steps_match_the_bias_corrected_reference(double lr, double wd, double gradientScale)
    {
        // The optimizer's betas are floats (0.999f is 0.99900001…): the reference uses the same values, in double.
        const double b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        var rng = new Random(2);
        var parameters = NewParameters(rng);
        var gradients = Gradients(rng, parameters, 3);
        foreach (var g in gradients.SelectMany(step => step))
            for (int i = 0; i < g.Length; i++) g[i] *= (float)gradientScale;
        var adam = new Adam(parameters, (float)lr, (float)wd);
        Assert.Equal((float)b1, adam.Beta1);
        Assert.Equal((float)b2, adam.Beta2);
        Assert.Equal((float)eps, adam.Epsilon);

        var w = parameters.Select(p => ToDouble(p.Value.ReadOnlySpan)).ToArray();
        var m = parameters.Select(p => new double[p.Count]).ToArray();
        var v = parameters.Select(p => new double[p.Count]).ToArray();
        for (int t = 1; t <= gradients.Length; t++)
            for (int k = 0; k < w.Length; k++)
                for (int i = 0; i < w[k].Length; i++)
                {
                    double g = gradients[t - 1][k][i];
                    m[k][i] = b1 * m[k][i] + (1 - b1) * g;
                    v[k][i] = b2 * v[k][i] + (1 - b2) * g * g;
                    double mHat = m[k][i] / (1 - Math.Pow(b1, t)), vHat = v[k][i] / (1 - Math.Pow(b2, t));
                    // Decoupled weight decay (AdamW): w ← w·(1 − ηλ) − η·m̂ / (√v̂ + ε)
                    w[k][i] = w[k][i] * (1 - lr * wd) - lr * mHat / (Math.Sqrt(vHat) + eps);
                }

        RunSteps(adam, parameters, gradients);
        Assert.Equal(3, adam.StepCount);
        for (int k = 0; k < parameters.Length; k++)
        {
            AssertAllClose(w[k], parameters[k].Value.ReadOnlySpan, $"{parameters[k].Name} value", 1e-6, 1e-5);
            AssertAllClose(m[k], adam.State[k][0], $"{parameters[k].Name} first moment", 1e-7 * gradientScale, 1e-5);
            AssertAllClose(v[k], adam.State[k][1], $"{parameters[k].Name} second moment", 1e-9 * gradientScale * gradientScale, 1e-5);
        }
    }

    [Fact]
    public void Adam_first_step_moves_each_weight_by_the_learning_rate_against_its_gradient_sign()
    {
        var p = new Parameter("w", new Tensor([1f, 1f, 1f], 3), prunable: true);
        var adam = new Adam([p], learningRate: 0.01f);
        new float[] { 3f, -0.002f, 40f }.CopyTo(p.Gradient.Span);
        adam.Step();
        // m̂ = g and v̂ = g² after one step, so the update is η·sign(g) (ε is negligible).
        Assert.Equal([0.99f, 1.01f, 0.99f], p.Value.ReadOnlySpan.ToArray().Select(x => MathF.Round(x, 5)).ToArray());
    }

    /// <summary>Every fourth entry of the 19-entry weight pruned, a third of the bias's entries pruned (biases may carry masks too).</summary>
    private static void MaskParameters(Parameter[] parameters)
    {
        foreach (var p in parameters)
        {
            var mask = new Tensor(p.Count);
            for (int i = 0; i < p.Count; i++) mask.Span[i] = i % (p.Count > 5 ? 4 : 3) == 1 ? 0f : 1f;
            p.SetMask(mask);
        }
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    public void Masked_entries_stay_exactly_zero_with_zero_state_over_many_steps(OptimizerKind kind)
    {
        var rng = new Random(3);
        var parameters = NewParameters(rng);
        MaskParameters(parameters);
        var optimizer = Optimizer.Create(kind, parameters, learningRate: 0.05f, weightDecay: 0.01f, momentum: 0.9f);
        var initial = parameters.Select(p => p.Value.ReadOnlySpan.ToArray()).ToArray();
        for (int step = 0; step < 300; step++)
        {
            // Large gradients everywhere, pruned entries included.
            foreach (var p in parameters) RandomFloats(rng, p.Count, 10).CopyTo(p.Gradient.Span);
            optimizer.Step();
            for (int k = 0; k < parameters.Length; k++)
            {
                var p = parameters[k];
                for (int i = 0; i < p.Count; i++)
                {
                    if (p.Mask!.ReadOnlySpan[i] != 0f) continue;
                    Assert.True(p.Value.ReadOnlySpan[i] == 0f, $"{p.Name}[{i}] is {p.Value.ReadOnlySpan[i]} after step {step + 1}");
                    foreach (var buffer in optimizer.State[k])
                        Assert.True(buffer[i] == 0f, $"{p.Name}[{i}] optimizer state is {buffer[i]} after step {step + 1}");
                }
            }
        }
        // The kept entries did train.
        for (int k = 0; k < parameters.Length; k++)
            for (int i = 0; i < parameters[k].Count; i++)
                if (parameters[k].Mask!.ReadOnlySpan[i] != 0f) Assert.NotEqual(initial[k][i], parameters[k].Value.ReadOnlySpan[i]);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    public void ApplyMasks_clears_the_state_of_newly_masked_entries_only(OptimizerKind kind)
    {
        var rng = new Random(4);
        var parameters = NewParameters(rng);
        var optimizer = Optimizer.Create(kind, parameters, learningRate: 0.05f, weightDecay: 0.01f);
        RunSteps(optimizer, parameters, Gradients(rng, parameters, 5));
        Assert.All(optimizer.State.SelectMany(s => s).SelectMany(b => b), x => Assert.NotEqual(0f, x));

        MaskParameters(parameters);
        var before = optimizer.State.Select(s => s.Select(b => (float[])b.Clone()).ToArray()).ToArray();
        optimizer.ApplyMasks();
        for (int k = 0; k < parameters.Length; k++)
            for (int j = 0; j < optimizer.State[k].Length; j++)
                for (int i = 0; i < parameters[k].Count; i++)
                    Assert.Equal(parameters[k].Mask!.ReadOnlySpan[i] == 0f ? 0f : before[k][j][i], optimizer.State[k][j][i]);

        // Stepping on keeps them at zero.
        RunSteps(optimizer, parameters, Gradients(rng, parameters, 3));
        for (int k = 0; k < parameters.Length; k++)
            for (int i = 0; i < parameters[k].Count; i++)
                if (parameters[k].Mask!.ReadOnlySpan[i] == 0f)
                {
                    Assert.True(parameters[k].Value.ReadOnlySpan[i] == 0f);
                    Assert.All(optimizer.State[k], b => Assert.True(b[i] == 0f));
                }
    }

    /// <summary>
    /// A parameter that keeps few entries is stepped over those alone (<see cref="Optimizer.SparseStepRatio"/>): the
    /// values and the kept entries' state must be, to the bit, those of the full vector update of an unmasked copy
    /// whose pruned entries are zero with zero gradients, vector lanes and the scalar tail alike (37 entries leave a
    /// tail at any vector width, and entry 36 is kept). The pruned entries stay exactly zero.
    /// </summary>
    [Theory]
    [InlineData(OptimizerKind.Sgd, 0f)]
    [InlineData(OptimizerKind.Sgd, 0.01f)]
    [InlineData(OptimizerKind.Adam, 0f)]
    [InlineData(OptimizerKind.Adam, 0.05f)]
    public void A_sparse_step_over_the_kept_entries_gives_the_full_steps_bits(OptimizerKind kind, float weightDecay)
    {
        var rng = new Random(11);
        var values = RandomFloats(rng, 37);
        var mask = Enumerable.Range(0, 37).Select(i => i % 6 == 1 || i == 36 ? 1f : 0f).ToArray();
        var sparse = new Parameter("s.weight", new Tensor((float[])values.Clone(), 37), prunable: true);
        sparse.SetMask(new Tensor(mask, 37));
        Assert.True(sparse.KeptCount * Optimizer.SparseStepRatio <= sparse.Count, "the mask must be sparse enough for the kept-entry step");
        var full = new Parameter("f.weight", new Tensor(values.Select((v, i) => v * mask[i]).ToArray(), 37), prunable: true);
        var sparseOptimizer = Optimizer.Create(kind, [sparse], learningRate: 0.03f, weightDecay: weightDecay, momentum: 0.9f);
        var fullOptimizer = Optimizer.Create(kind, [full], learningRate: 0.03f, weightDecay: weightDecay, momentum: 0.9f);
        for (int step = 0; step < 20; step++)
        {
            var g = RandomFloats(rng, 37, 3);
            g.CopyTo(sparse.Gradient.Span);
            g.Select((x, i) => x * mask[i]).ToArray().CopyTo(full.Gradient.Span);
            sparseOptimizer.Step();
            fullOptimizer.Step();
        }
        Assert.Equal(full.Value.ReadOnlySpan.ToArray().Select(BitConverter.SingleToInt32Bits), sparse.Value.ReadOnlySpan.ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.NotEqual(values[1], sparse.Value.ReadOnlySpan[1]);
        for (int j = 0; j < sparseOptimizer.State[0].Length; j++)
            Assert.Equal(fullOptimizer.State[0][j].Select(BitConverter.SingleToInt32Bits), sparseOptimizer.State[0][j].Select(BitConverter.SingleToInt32Bits));
    }

    /// <summary>A full (dense-enough) step zeroes the gradients of pruned entries before updating; a kept-entry step never reads them.</summary>
    [Fact]
    public void Step_zeroes_the_gradients_of_pruned_entries()
    {
        var p = new Parameter("w", new Tensor([1f, 2f, 3f], 3), prunable: true);
        p.SetMask(new Tensor([1f, 0f, 1f], 3));
        var sgd = new Sgd([p], 0.1f);
        new float[] { 5f, 5f, 5f }.CopyTo(p.Gradient.Span);
        sgd.Step();
        Assert.Equal([5f, 0f, 5f], p.Gradient.ReadOnlySpan.ToArray());
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Optimizers_reject_a_learning_rate_that_is_not_a_positive_number(float lr)
    {
        var p = new Parameter("w", new Tensor(3), prunable: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], lr));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], lr));
    }

    [Theory]
    [InlineData(-0.01f)]
    [InlineData(float.NaN)]
    public void Optimizers_reject_a_negative_weight_decay(float wd)
    {
        var p = new Parameter("w", new Tensor(3), prunable: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], 0.1f, wd));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], 0.1f, wd));
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    public void Sgd_rejects_momentum_outside_zero_to_one(float momentum)
    {
        var p = new Parameter("w", new Tensor(3), prunable: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], 0.1f, 0f, momentum));
    }

    [Fact]
    public void Create_builds_the_requested_optimizer_with_one_state_buffer_per_moment()
    {
        var parameters = NewParameters(new Random(5));
        var sgd = Assert.IsType<Sgd>(Optimizer.Create(OptimizerKind.Sgd, parameters, 0.1f, 0.001f, 0.8f));
        Assert.Equal(0.8f, sgd.Momentum);
        Assert.Equal(0.001f, sgd.WeightDecay);
        Assert.All(sgd.State, s => Assert.Single(s));
        var adam = Assert.IsType<Adam>(Optimizer.Create(OptimizerKind.Adam, parameters, 0.1f, 0f));
        Assert.Equal(0.1f, adam.LearningRate);
        Assert.Equal(parameters.Length, adam.State.Length);
        for (int k = 0; k < parameters.Length; k++)
        {
            Assert.Equal(2, adam.State[k].Length);
            Assert.All(adam.State[k], b => Assert.Equal(parameters[k].Count, b.Length));
        }
    }
}
