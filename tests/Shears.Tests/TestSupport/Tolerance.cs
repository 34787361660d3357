using System.Text;
using Xunit.Sdk;

namespace Shears.Tests.TestSupport;

/// <summary>
/// Mixed absolute/relative comparison in the style of dotnet/runtime's tensor tests:
/// |actual − expected| ≤ atol + rtol·|expected| for every element. Failures name the worst elements.
/// </summary>
public static class Tolerance
{
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double atol, double rtol)
    {
        if (actual.Length != expected.Length)
            throw new XunitException($"Length mismatch: actual has {actual.Length} values, expected {expected.Length}.");
        int bad = 0, worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (double.IsInfinity(e) && a == e) continue;
            double err = Math.Abs(a - e);
            double limit = atol + rtol * Math.Abs(e);
            if (!(err <= limit))
            {
                bad++;
                double excess = double.IsNaN(err) ? double.PositiveInfinity : err - limit;
                if (worst < 0 || excess > worstExcess) { worst = i; worstExcess = excess; }
            }
        }
        if (bad == 0) return;
        var sb = new StringBuilder();
        sb.Append($"{bad} of {actual.Length} values differ by more than atol {atol:G3} + rtol {rtol:G3}·|expected|. ");
        sb.Append($"Worst at [{worst}]: actual {actual[worst]:R}, expected {expected[worst]:R}, error {Math.Abs(actual[worst] - expected[worst]):G3}.");
        int shown = 0;
        for (int i = 0; i < actual.Length && shown < 5; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= atol + rtol * Math.Abs(expected[i])))
            {
                sb.Append($" [{i}] {actual[i]:R} vs {expected[i]:R};");
                shown++;
            }
        }
        throw new XunitException(sb.ToString());
    }

    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol)
    {
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++) e[i] = expected[i];
        AssertClose(actual, e, atol, rtol);
    }

    /// <summary>Every element the same bits (NaNs included); a failure counts the differences and names the first.</summary>
    public static void AssertBitwiseEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        if (actual.Length != expected.Length)
            throw new XunitException($"{what}: length mismatch, {actual.Length} values against {expected.Length}.");
        int diff = 0, at = -1;
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                diff++;
                if (at < 0) at = i;
            }
        if (diff != 0)
            throw new XunitException($"{what}: {diff} of {expected.Length} values differ bitwise, first at [{at}]: {expected[at]:R} vs {actual[at]:R}.");
    }
}
