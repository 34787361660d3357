using System.Diagnostics.CodeAnalysis;

namespace Shears.Tensors;

/// <summary>One place for the argument errors the kernels raise, so messages state both sizes.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void TooShort(string name, int have, long need) =>
        throw new ArgumentException($"Span '{name}' holds {have} floats but {need} are needed.", name);

    [DoesNotReturn]
    public static void LengthMismatch(string name, int have, int expected) =>
        throw new ArgumentException($"Span '{name}' has length {have} but {expected} was expected.", name);

    [DoesNotReturn]
    public static void Negative(string name, int value) =>
        throw new ArgumentOutOfRangeException(name, value, $"'{name}' must not be negative.");

    [DoesNotReturn]
    public static void Overlap(string a, string b) =>
        throw new ArgumentException($"Spans '{a}' and '{b}' overlap; the kernel needs separate buffers.");
}
