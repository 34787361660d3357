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
        var extra = Values.Keys.Concat(Masks.Keys).Distinct().Where(k => model.Parameters.All(p => p.Name != k)).ToList();
        if (extra.Count > 0) throw new ArgumentException($"State holds parameters model '{model.Name}' does not have: {string.Join(", ", extra)}.");
        // Check every size and mask before writing anything, so a state that does not fit leaves the model as it was.
        var masks = new Tensor?[model.Parameters.Count];
        for (int i = 0; i < masks.Length; i++)
        {
            var p = model.Parameters[i];
            var v = Values[p.Name];
            if (v.Length != p.Count) throw new ArgumentException($"State for '{p.Name}' holds {v.Length} values; the model needs {p.Count}.");
            if (!Masks.TryGetValue(p.Name, out var m)) continue;
            if (m.Length != p.Count) throw new ArgumentException($"State's mask for '{p.Name}' holds {m.Length} values; the model needs {p.Count}.");
            foreach (float e in m)
                if (e != 0f && e != 1f) throw new ArgumentException($"State's mask for '{p.Name}' holds {e}; only 0 and 1 are allowed.");
            masks[i] = new Tensor((float[])m.Clone(), p.Value.Shape.ToArray());
        }
        for (int i = 0; i < masks.Length; i++)
        {
            var p = model.Parameters[i];
            Values[p.Name].CopyTo(p.Value.Span);
            p.SetMask(masks[i]);
        }
    }
}
