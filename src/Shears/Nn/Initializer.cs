namespace Shears.Nn;

/// <summary>Seeded He-uniform initialisation (suits ReLU networks); biases start at zero.</summary>
public static class Initializer
{
    public static void HeUniform(Sequential model, int seed)
    {
        var rng = new Random(seed);
        foreach (var layer in model.Layers)
        {
            (Parameter? w, Parameter? b, int fanIn) = layer switch
            {
                Linear l => (l.Weight, l.Bias, l.Inputs),
                Conv2d c => (c.Weight, c.Bias, c.InChannels * c.Kernel * c.Kernel),
                _ => ((Parameter?)null, (Parameter?)null, 0),
            };
            if (w is null) continue;
            float bound = MathF.Sqrt(6f / fanIn);
            var span = w.Value.Span;
            for (int i = 0; i < span.Length; i++) span[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
            b!.Value.Clear();
            w.ApplyMask();
        }
    }
}
