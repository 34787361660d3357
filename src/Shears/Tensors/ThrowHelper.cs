using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Shears.Tensors;

/// <summary>One place for the argument errors the kernels raise, so messages state both sizes.</summary>
internal static class ThrowHelper
{
    /// <summary>Throws <see cref="TooShort(string, int, long)"/> when a span of <paramref name="have"/> floats is shorter than <paramref name="need"/>.</summary>
    public static void IfTooShort(string name, int have, long need)
    {
        if (have < need) TooShort(name, have, need);
    }

    [DoesNotReturn]
    public static void TooShort(string name, int have, long need) =>
        throw new ArgumentException($"Span '{name}' holds {have} floats but {need} are needed.", name);

    [DoesNotReturn]
    public static void TooShort(string name, int have, long need, int rows, int cols, int ld) =>
        throw new ArgumentException(
            $"Span '{name}' holds {have} floats but a {rows}×{cols} matrix with row stride {ld} needs {need}.", name);

    [DoesNotReturn]
    public static void LengthMismatch(string name, int have, int expected) =>
        throw new ArgumentException($"Span '{name}' has length {have} but {expected} was expected.", name);

    [DoesNotReturn]
    public static void Negative(string name, int value) =>
        throw new ArgumentOutOfRangeException(name, value, $"'{name}' must not be negative.");

    [DoesNotReturn]
    public static void NotPositive(string name, int value) =>
        throw new ArgumentOutOfRangeException(name, value, $"'{name}' must be at least 1.");

    [DoesNotReturn]
    public static void BadStride(string name, int ld, int minimum) =>
        throw new ArgumentOutOfRangeException("ld" + name, ld,
            $"Row stride of '{name}' is {ld} but must be at least the stored row length {minimum}.");

    [DoesNotReturn]
    public static void BadEnum(string name, int value) =>
        throw new ArgumentOutOfRangeException(name, value, $"'{name}' has undefined value {value}.");

    [DoesNotReturn]
    public static void Overlap(string a, string b) =>
        throw new ArgumentException($"Spans '{a}' and '{b}' overlap; the kernel needs separate buffers.");

    [DoesNotReturn]
    public static void KernelTooLarge(int kernel, int size, int padding) =>
        throw new ArgumentException(
            $"Kernel {kernel} does not fit an input of size {size} with padding {padding} (padded size {size + 2L * padding}).", nameof(kernel));

    [DoesNotReturn]
    public static void TooLarge(string what, long value) =>
        throw new ArgumentException($"{what} is {value}, more than a span can hold.");

    [DoesNotReturn]
    public static void Unreachable() => throw new UnreachableException();
}
