using Shears.Tensors;

namespace Shears.Nn;

/// <summary>Values and masks of a model's parameters by name: a snapshot that can be restored strictly.</summary>
public sealed class ModelState
{
    private ModelState(Dictionary<string, float[]> values, Dictionary<string, float[]> masks)
    {
        Values = values;
        Masks = masks;
    }

    public IReadOnlyDictionary<string, float[]> Values { get; }
    public IReadOnlyDictionary<string, float[]> Masks { get; }

    public static ModelState Capture(Sequential model)
    {
        var values = new Dictionary<string, float[]>();
        var masks = new Dictionary<string, float[]>();
        foreach (var p in model.Parameters)
        {
            values[p.Name] = p.Value.ReadOnlySpan.ToArray();
            if (p.Mask is not null) masks[p.Name] = p.Mask.ReadOnlySpan.ToArray();
        }
        return new ModelState(values, masks);
    }

    public static ModelState From(Dictionary<string, float[]> values, Dictionary<string, float[]>? masks = null) =>
        new(values, masks ?? []);

    /// <summary>Writes values and masks back; names and sizes must match exactly, and what is missing is named.</summary>
    public void Restore(Sequential model)
    {
        var missing = model.Parameters.Where(p => !Values.ContainsKey(p.Name)).Select(p => p.Name).ToList();
        if (missing.Count > 0) throw new ArgumentException($"State for model '{model.Name}' lacks {string.Join(", ", missing)}.");
        var extra = Values.Keys.Where(k => model.Parameters.All(p => p.Name != k)).ToList();
        if (extra.Count > 0) throw new ArgumentException($"State holds parameters model '{model.Name}' does not have: {string.Join(", ", extra)}.");
        foreach (var p in model.Parameters)
        {
            var v = Values[p.Name];
            if (v.Length != p.Count) throw new ArgumentException($"State for '{p.Name}' holds {v.Length} values; the model needs {p.Count}.");
            v.CopyTo(p.Value.Span);
            p.SetMask(Masks.TryGetValue(p.Name, out var m) ? new Tensor((float[])m.Clone(), p.Value.Shape.ToArray()) : null);
        }
    }
}
