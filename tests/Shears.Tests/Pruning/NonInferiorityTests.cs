using Shears.Pruning;

namespace Shears.Tests.Pruning;

public sealed class NonInferiorityTests
{
    /// <summary>The plain definition: the mean and variance of d_i = original_i − candidate_i over the images, in doubles.</summary>
    private static double ReferenceBound(bool[] original, bool[] candidate, double z)
    {
        int n = original.Length;
        double[] d = original.Select((o, i) => (o ? 1.0 : 0.0) - (candidate[i] ? 1.0 : 0.0)).ToArray();
        double mean = d.Average();
        double variance = d.Sum(x => (x - mean) * (x - mean)) / n;
        return mean + z * Math.Sqrt(variance / n);
    }

    private static (bool[] Original, bool[] Candidate) Pairs(int n, double pLost, double pWon, double pBothWrong, Random random)
    {
        var original = new bool[n];
        var candidate = new bool[n];
        for (int i = 0; i < n; i++)
        {
            double u = random.NextDouble();
            (original[i], candidate[i]) = u < pLost ? (true, false) : u < pLost + pWon ? (false, true) : u < pLost + pWon + pBothWrong ? (false, false) : (true, true);
        }
        return (original, candidate);
    }

    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(7, 1.0)]
    [InlineData(333, 1.645)]
    [InlineData(5000, 1.645)]
    [InlineData(10_001, 2.33)]
    public void The_bound_matches_the_paired_mean_and_variance_computed_in_doubles(int n, double z)
    {
        var random = new Random(n);
        var (original, candidate) = Pairs(n, 0.02, 0.01, 0.01, random);
        double expected = ReferenceBound(original, candidate, z);
        double actual = NonInferiority.DropUpperBound(original, candidate, z);
        Assert.True(Math.Abs(actual - expected) <= 1e-12 + 1e-10 * Math.Abs(expected), $"{actual} against {expected}");
    }

    [Fact]
    public void Without_z_the_bound_is_the_measured_drop_and_agreeing_networks_lose_nothing()
    {
        // 3 images lost, 1 won of 8: the drop is 2/8 whatever the images both get right or wrong.
        bool[] original = [true, true, true, false, true, false, true, true];
        bool[] candidate = [false, false, false, true, true, false, true, true];
        Assert.Equal(new NonInferiority.Paired(8, Lost: 3, Won: 1), NonInferiority.Compare(original, candidate));
        Assert.Equal(0.25, NonInferiority.Compare(original, candidate).Drop, 15);
        Assert.Equal(0.25, NonInferiority.DropUpperBound(original, candidate, 0), 15);
        Assert.True(NonInferiority.DropUpperBound(original, candidate, 1.645) > 0.25);
        Assert.Equal(0, NonInferiority.DropUpperBound(original, original, 1.645));
        Assert.Equal(0, NonInferiority.DropUpperBound([], [], 1.645));
    }

    [Fact]
    public void The_bound_covers_the_true_drop_at_about_the_stated_confidence()
    {
        // The true drop is 1% − 0.4% = 0.6 points; at 95% one-sided the bound should fall below it in about 5% of
        // 2,000 draws of 3,000 images (binomial spread of the count: ±1% at 2 standard errors).
        var random = new Random(12345);
        double z = NonInferiority.Z(0.95);
        int covered = 0, trials = 2000;
        for (int t = 0; t < trials; t++)
        {
            var (original, candidate) = Pairs(3000, 0.01, 0.004, 0.01, random);
            if (NonInferiority.DropUpperBound(original, candidate, z) >= 0.006) covered++;
        }
        Assert.InRange((double)covered / trials, 0.93, 0.97);
    }

    [Theory]
    [InlineData(0.5, 0.0)]
    [InlineData(0.8, 0.8416212335729143)]
    [InlineData(0.9, 1.2815515655446004)]
    [InlineData(0.95, 1.6448536269514722)]
    [InlineData(0.975, 1.959963984540054)]
    [InlineData(0.99, 2.3263478740408408)]
    [InlineData(0.999, 3.090232306167813)]
    public void Z_is_the_standard_normal_quantile(double confidence, double expected)
    {
        double z = NonInferiority.Z(confidence);
        Assert.True(Math.Abs(z - expected) <= 1e-8 + 1e-8 * Math.Abs(expected), $"Z({confidence}) = {z}, expected {expected}");
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NonInferiority.Z(0.4));
        Assert.Throws<ArgumentOutOfRangeException>(() => NonInferiority.Z(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NonInferiority.Z(double.NaN));
        Assert.Throws<ArgumentException>(() => NonInferiority.DropUpperBound([true], [true, false], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NonInferiority.DropUpperBound([true], [true], -1));
    }
}
