using Shears.Nn;

namespace Shears.Tests.Nn;

public class ParameterTests
{
    private static Parameter Make(params float[] values) => new("p.weight", new Tensor(values, values.Length), prunable: true);

    [Fact]
    public void SetMask_zeroes_the_masked_values_and_keeps_the_rest()
    {
        var p = Make(1.5f, -2f, 3f, -4f, 5f);
        p.SetMask(new Tensor([1f, 0f, 1f, 0f, 0f], 5));
        Assert.Equal([1.5f, 0f, 3f, 0f, 0f], p.Value.ReadOnlySpan.ToArray());
        Assert.All(new[] { 1, 3, 4 }, i => Assert.True(p.Value.ReadOnlySpan[i] == 0f));
    }

    [Fact]
    public void KeptCount_counts_the_ones_of_the_mask_or_everything_when_dense()
    {
        var p = new Parameter("p.weight", new Tensor(3, 4), prunable: true);
        Assert.Null(p.Mask);
        Assert.Equal(12, p.Count);
        Assert.Equal(12, p.KeptCount);
        var mask = new Tensor(3, 4);
        mask.Span.Fill(1f);
        mask[0, 1] = 0f;
        mask[2, 3] = 0f;
        p.SetMask(mask);
        Assert.Equal(10, p.KeptCount);
        Assert.Contains("kept 10/12", p.ToString());
        p.SetMask(null);
        Assert.Null(p.Mask);
        Assert.Equal(12, p.KeptCount);
    }

    [Fact]
    public void MaskZeros_prunes_exactly_the_zero_entries_negative_zero_included()
    {
        var p = Make(0.5f, 0f, -0f, -1e-30f, 2f);
        p.MaskZeros();
        Assert.Equal([1f, 0f, 0f, 1f, 1f], p.Mask!.ReadOnlySpan.ToArray());
        Assert.Equal(3, p.KeptCount);
        Assert.Equal(-1e-30f, p.Value.ReadOnlySpan[3]);
    }

    [Fact]
    public void Clearing_the_mask_leaves_pruned_values_at_zero()
    {
        var p = Make(1f, 2f, 3f);
        p.SetMask(new Tensor([0f, 1f, 1f], 3));
        p.SetMask(null);
        Assert.Equal([0f, 2f, 3f], p.Value.ReadOnlySpan.ToArray());
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(2f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    public void SetMask_rejects_entries_other_than_zero_and_one(float bad)
    {
        var p = Make(1f, 2f, 3f);
        var e = Assert.Throws<ArgumentException>(() => p.SetMask(new Tensor([1f, bad, 0f], 3)));
        Assert.Contains("p.weight", e.Message);
        Assert.Null(p.Mask);
        Assert.Equal([1f, 2f, 3f], p.Value.ReadOnlySpan.ToArray());
    }

    [Theory]
    [InlineData(new[] { 4 })]
    [InlineData(new[] { 1, 3 })]
    [InlineData(new[] { 2 })]
    public void SetMask_rejects_a_mask_of_another_shape(int[] shape)
    {
        var p = Make(1f, 2f, 3f);
        var mask = new Tensor(shape);
        mask.Span.Fill(1f);
        Assert.Contains("p.weight", Assert.Throws<ArgumentException>(() => p.SetMask(mask)).Message);
        Assert.Null(p.Mask);
    }

    [Fact]
    public void ApplyMask_on_a_buffer_zeroes_pruned_entries_and_is_a_no_op_when_dense()
    {
        var p = Make(1f, 2f, 3f);
        float[] buffer = [7f, 8f, 9f];
        p.ApplyMask(buffer);
        Assert.Equal([7f, 8f, 9f], buffer);
        p.SetMask(new Tensor([1f, 0f, 1f], 3));
        p.ApplyMask(buffer);
        Assert.Equal([7f, 0f, 9f], buffer);
    }

    [Fact]
    public void ApplyMask_re_zeroes_values_written_after_the_mask_was_set()
    {
        var p = Make(1f, 2f, 3f);
        p.SetMask(new Tensor([1f, 0f, 1f], 3));
        p.Value.Span[1] = 42f;
        p.ApplyMask();
        Assert.Equal([1f, 0f, 3f], p.Value.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void Parameter_gradient_has_the_value_shape_and_starts_at_zero()
    {
        var p = new Parameter("conv.weight", new Tensor(5, 3, 3, 3), prunable: true);
        Assert.Equal([5, 3, 3, 3], p.Gradient.Shape.ToArray());
        Assert.All(p.Gradient.ReadOnlySpan.ToArray(), g => Assert.Equal(0f, g));
        Assert.Throws<ArgumentException>(() => new Parameter("", new Tensor(1), prunable: false));
    }
}
