using System.Numerics.Tensors;
using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// A trainable tensor: its value, the gradient the last backward pass wrote, and an optional mask of
/// 0/1 entries. A masked-out entry is a pruned connection: <see cref="ApplyMask"/> holds it at exactly
/// zero, and optimizers call it after every step. Masking lives here and nowhere else in the layers.
/// </summary>
public sealed class Parameter
{
    public Parameter(string name, Tensor value, bool prunable)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Value = value;
        Gradient = new Tensor(value.Shape.ToArray());
        Prunable = prunable;
    }

    /// <summary>Unique within its model, e.g. "fc1.weight".</summary>
    public string Name { get; }

    public Tensor Value { get; }

    public Tensor Gradient { get; }

    /// <summary>Weights are prunable connections; biases are not.</summary>
    public bool Prunable { get; }

    /// <summary>1 keeps a connection, 0 prunes it; null means dense.</summary>
    public Tensor? Mask { get; private set; }

    public int Count => Value.Length;

    /// <summary>Connections still present: the mask's ones, or every entry when dense.</summary>
    public int KeptCount
    {
        get
        {
            if (Mask is null) return Count;
            int kept = 0;
            foreach (float m in Mask.ReadOnlySpan) if (m != 0f) kept++;
            return kept;
        }
    }

    /// <summary>Sets (or clears, with null) the mask and zeroes the pruned values at once.</summary>
    public void SetMask(Tensor? mask)
    {
        if (mask is not null)
        {
            if (!mask.ShapeEquals(Value.Shape))
                throw new ArgumentException($"Mask shape {mask} does not match parameter '{Name}' shape {Value}.");
            foreach (float m in mask.ReadOnlySpan)
                if (m != 0f && m != 1f)
                    throw new ArgumentException($"Mask for '{Name}' holds {m}; only 0 and 1 are allowed.");
        }
        Mask = mask;
        _keptIndices = null;
        ApplyMask();
    }

    private int[]? _keptIndices;

    /// <summary>
    /// The entries the mask keeps, in order (null when dense): what an optimizer step touches once few are kept.
    /// Found on first use after <see cref="SetMask"/> (a sensitivity sweep sets masks it never trains with); a mask is
    /// replaced through SetMask, never edited in place.
    /// </summary>
    internal int[]? KeptIndices => Mask is null ? null : _keptIndices ??= KeptOf(Mask.ReadOnlySpan);

    private static int[] KeptOf(ReadOnlySpan<float> mask)
    {
        int count = 0;
        foreach (float m in mask) if (m != 0f) count++;
        var kept = new int[count];
        for (int i = 0, k = 0; i < mask.Length; i++) if (mask[i] != 0f) kept[k++] = i;
        return kept;
    }

    /// <summary>Masks the entries that are exactly zero: how a pruned weight read from a file gets its mask back.</summary>
    public void MaskZeros()
    {
        var mask = new Tensor(Value.Shape.ToArray());
        var v = Value.ReadOnlySpan;
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++) m[i] = v[i] != 0f ? 1f : 0f;
        SetMask(mask);
    }

    /// <summary>Zeroes pruned entries of the value (no-op when dense).</summary>
    public void ApplyMask()
    {
        if (Mask is not null) TensorPrimitives.Multiply(Value.ReadOnlySpan, Mask.ReadOnlySpan, Value.Span);
    }

    /// <summary>Zeroes pruned entries of any per-parameter buffer (gradients, optimizer moments).</summary>
    public void ApplyMask(Span<float> buffer)
    {
        if (Mask is not null) TensorPrimitives.Multiply(buffer, Mask.ReadOnlySpan, buffer);
    }

    public override string ToString() => $"{Name} {Value}{(Mask is null ? "" : $" kept {KeptCount}/{Count}")}";
}
