using Shears.Nn;

namespace Shears.Tests.Nn;

public class InitializerTests
{
    private static Sequential Model() =>
        new("m", [1, 4, 5], new Flatten("flatten"), new Linear("fc1", 20, 30), new Relu("relu"), new Linear("fc2", 30, 4));

    [Fact]
    public void HeUniform_draws_weights_within_the_fan_in_bound_and_zeroes_biases()
    {
        var model = Model();
        foreach (var p in model.Parameters) p.Value.Span.Fill(9f);
        Initializer.HeUniform(model, seed: 3);
        foreach (var (name, fanIn) in new[] { ("fc1", 20), ("fc2", 30) })
        {
            float bound = MathF.Sqrt(6f / fanIn);
            var w = model.GetParameter(name + ".weight").Value.ReadOnlySpan.ToArray();
            Assert.All(w, v => Assert.InRange(v, -bound, bound));
            Assert.True(w.Max() > bound * 0.8f && w.Min() < -bound * 0.8f, $"{name} weights do not spread over ±{bound}");
            Assert.All(model.GetParameter(name + ".bias").Value.ReadOnlySpan.ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void HeUniform_is_reproducible_for_a_seed_and_differs_between_seeds()
    {
        static float[] Weights(int seed)
        {
            var model = Model();
            Initializer.HeUniform(model, seed);
            return model.Parameters.SelectMany(p => p.Value.ReadOnlySpan.ToArray()).ToArray();
        }
        Assert.Equal(Weights(11), Weights(11));
        Assert.NotEqual(Weights(11), Weights(12));
    }

    [Fact]
    public void HeUniform_keeps_masked_weights_at_zero()
    {
        var model = Model();
        var w = model.GetParameter("fc1.weight");
        var mask = new Tensor(30, 20);
        for (int i = 0; i < mask.Length; i += 2) mask.Span[i] = 1f;
        w.SetMask(mask);
        Initializer.HeUniform(model, seed: 1);
        for (int i = 0; i < w.Count; i++)
            if (i % 2 == 1) Assert.True(w.Value.ReadOnlySpan[i] == 0f);
            else Assert.NotEqual(0f, w.Value.ReadOnlySpan[i]);
    }
}
