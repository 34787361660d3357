using Shears.Nn;
using Shears.Reports;
using SkiaSharp;
using static Shears.Tests.Reports.ReportTestSupport;

namespace Shears.Tests.Reports;

public sealed class WeightPatternImageTests
{
    [Fact]
    public void Ten_units_of_fcn1_make_a_png_of_two_five_by_two_panels_at_eight_pixels_per_weight()
    {
        using var dir = new ReportTempFolder();
        var dense = Model("fcn1");
        var pruned = Pruned("fcn1", dense, i => i % 3 != 0);
        string path = dir.File("weights.png");

        var layout = WeightPatternImage.Render(dense, pruned, path);

        Assert.True(IsPng(path));
        using var bitmap = Decode(path);
        // Per panel: 5 columns × 2 rows of 28·8 = 224 px tiles with 4 px gaps; two panels 24 px apart inside 12 px margins,
        // under a 28 px title band and above a 30 px legend band.
        int panelWidth = 5 * 224 + 4 * 4, panelHeight = 2 * 224 + 4;
        Assert.Equal(12 + panelWidth + 24 + panelWidth + 12, bitmap.Width);
        Assert.Equal(12 + 28 + panelHeight + 30 + 12, bitmap.Height);
        Assert.Equal((2320, 534), (bitmap.Width, bitmap.Height));
        Assert.Equal((layout.Width, layout.Height), (bitmap.Width, bitmap.Height));
        Assert.Equal((10, 5, 2, 8), (layout.Units, layout.Columns, layout.Rows, layout.PixelsPerWeight));
    }

    [Fact]
    public void The_first_hundred_units_of_fcn2_make_ten_by_ten_panels_at_four_pixels_per_weight()
    {
        using var dir = new ReportTempFolder();
        var dense = Model("fcn2");
        var pruned = Pruned("fcn2", dense, i => i % 2 == 0);
        string path = dir.File("weights.png");

        var layout = WeightPatternImage.Render(dense, pruned, path);

        using var bitmap = Decode(path);
        int panel = 10 * 112 + 9 * 4;
        Assert.Equal((12 + 2 * panel + 24 + 12, 12 + 28 + panel + 30 + 12), (bitmap.Width, bitmap.Height));
        Assert.Equal((100, 10, 10, 4), (layout.Units, layout.Columns, layout.Rows, layout.PixelsPerWeight));
    }

    [Fact]
    public void Without_a_pruned_model_only_the_dense_panel_is_drawn()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("dense.png");

        WeightPatternImage.Render(Model("fcn1"), null, path, maxUnits: 3);

        using var bitmap = Decode(path);
        Assert.Equal((12 + 3 * 224 + 2 * 4 + 12, 12 + 28 + 224 + 30 + 12), (bitmap.Width, bitmap.Height));
    }

    [Fact]
    public void A_pruned_connection_is_mid_grey_a_kept_positive_weight_reddish_a_negative_one_bluish_and_a_zero_white()
    {
        using var dir = new ReportTempFolder();
        var dense = Model("fcn1");
        var w = ((Linear)dense.Layers[1]).Weight.Value;
        const int unit = 7;
        w[unit, 10 * 28 + 12] = 0.09f;   // kept, positive
        w[unit, 14 * 28 + 3] = -0.09f;   // kept, negative
        w[unit, 20 * 28 + 20] = 0f;      // kept, exactly zero
        w[unit, 5 * 28 + 7] = 0.09f;     // pruned below, though large in the dense network
        int pruneIndex = unit * 784 + 5 * 28 + 7;
        var pruned = Pruned("fcn1", dense, i => i != pruneIndex);
        string path = dir.File("weights.png");

        var layout = WeightPatternImage.Render(dense, pruned, path);

        using var bitmap = Decode(path);
        SKColor At(int panel, int row, int column)
        {
            var (x, y) = layout.WeightPixel(panel, unit, row, column);
            return bitmap.GetPixel(x, y);
        }
        Assert.Equal(WeightPatternImage.PrunedColor, At(1, 5, 7));
        Assert.True(IsReddish(At(0, 5, 7)), $"the dense panel draws the weight pruned later as positive: {At(0, 5, 7)}");
        Assert.True(IsReddish(At(1, 10, 12)), $"a kept positive weight is reddish: {At(1, 10, 12)}");
        var negative = At(1, 14, 3);
        Assert.True(negative.Blue > negative.Red + 60, $"a kept negative weight is bluish: {negative}");
        Assert.Equal(SKColors.White, At(1, 20, 20));
        // Every corner of the pruned connection's block is the same grey, and so is no other kind of weight.
        var (x0, y0) = layout.TileOrigin(1, unit);
        for (int dy = 0; dy < layout.PixelsPerWeight; dy++)
            for (int dx = 0; dx < layout.PixelsPerWeight; dx++)
                Assert.Equal(WeightPatternImage.PrunedColor, bitmap.GetPixel(x0 + 7 * 8 + dx, y0 + 5 * 8 + dy));
    }

    [Fact]
    public void No_weight_colour_can_be_mistaken_for_a_pruned_connection()
    {
        for (int i = -100; i <= 100; i++)
        {
            var c = WeightPatternImage.ColorOf(i / 100f, 1);
            int distance = Math.Abs(c.Red - 128) + Math.Abs(c.Green - 128) + Math.Abs(c.Blue - 128);
            Assert.True(distance > 90, $"weight {i / 100.0} is drawn {c}, too near the pruned grey");
        }
    }

    [Fact]
    public void Each_panel_saturates_at_the_ninety_ninth_percentile_of_its_kept_weights()
    {
        var p = new Parameter("w", new Tensor(Enumerable.Range(1, 200).Select(i => (float)i).ToArray(), 2, 100), prunable: true);
        Assert.Equal(198, WeightPatternImage.ScaleOf(p, 2));
        Assert.Equal(99, WeightPatternImage.ScaleOf(p, 1));
        var mask = new Tensor(Enumerable.Range(0, 200).Select(i => i < 100 ? 1f : 0f).ToArray(), 2, 100);
        p.SetMask(mask);
        Assert.Equal(99, WeightPatternImage.ScaleOf(p, 2));
    }

    [Fact]
    public void Fully_connected_zoo_models_can_be_drawn_and_a_convolution_first_model_cannot()
    {
        Assert.True(WeightPatternImage.CanRender(Model("fcn1")));
        Assert.True(WeightPatternImage.CanRender(Model("fcn2")));
        var cnn = Model("cnn3");
        Assert.False(WeightPatternImage.CanRender(cnn));
        using var dir = new ReportTempFolder();
        var e = Assert.Throws<ArgumentException>(() => WeightPatternImage.Render(cnn, null, dir.File("cnn.png")));
        Assert.Contains("Conv2d", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void A_multi_channel_input_cannot_be_drawn_even_with_a_linear_first_layer()
    {
        var model = new Sequential("rgb", [3, 4, 4], new Flatten("flatten"), new Linear("fc", 48, 2));
        Assert.False(WeightPatternImage.CanRender(model));
    }

    [Fact]
    public void Models_whose_first_layers_differ_are_refused()
    {
        using var dir = new ReportTempFolder();
        var e = Assert.Throws<ArgumentException>(() => WeightPatternImage.Render(Model("fcn1"), Model("fcn2"), dir.File("w.png")));
        Assert.Contains("does not match", e.Message);
    }

    [Fact]
    public void The_image_is_written_atomically_over_an_old_one_leaving_no_temporary_file()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("weights.png");
        File.WriteAllText(path, "old");

        WeightPatternImage.Render(Model("fcn1"), null, path, maxUnits: 2);

        Assert.True(IsPng(path));
        Assert.Equal(["weights.png"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    private static bool IsReddish(SKColor c) => c.Red > c.Green + 60 && c.Red > c.Blue + 60;
}
