using Shears.Pruning;
using Shears.Reports;
using static Shears.Tests.Reports.ReportTestSupport;

namespace Shears.Tests.Reports;

public sealed class PlotTests
{
    [Fact]
    public void The_sensitivity_plot_of_a_report_is_a_png_chart()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("sensitivity.png");

        Assert.True(SensitivityPlot.Render(Report(), path));

        Assert.True(IsPng(path));
        using var bitmap = Decode(path);
        Assert.Equal((900, 560), (bitmap.Width, bitmap.Height));
        Assert.Equal(["sensitivity.png"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_report_without_sensitivity_curves_draws_no_sensitivity_plot()
    {
        using var dir = new ReportTempFolder();
        var report = Report() with { Sensitivity = new Dictionary<string, IReadOnlyList<SensitivityPoint>>() };

        Assert.False(SensitivityPlot.Render(report, dir.File("sensitivity.png")));

        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Sensitivity_curves_given_as_pairs_in_any_order_are_drawn()
    {
        using var dir = new ReportTempFolder();
        string path = dir.File("s.png");
        var curves = new Dictionary<string, IReadOnlyList<(double Sparsity, double Accuracy)>>
        {
            ["conv1.weight"] = [(0.9, 0.95), (0, 0.99), (0.5, 0.985)],
            ["empty"] = [],
        };

        SensitivityPlot.Render(curves, 0.98, path);

        Assert.True(IsPng(path));
    }

    [Fact]
    public void A_sensitivity_point_that_is_not_a_number_is_refused_naming_its_layer()
    {
        using var dir = new ReportTempFolder();
        var curves = new Dictionary<string, IReadOnlyList<(double Sparsity, double Accuracy)>> { ["fc1.weight"] = [(0.5, double.NaN)] };

        var e = Assert.Throws<ArgumentException>(() => SensitivityPlot.Render(curves, 0.98, dir.File("s.png")));

        Assert.Contains("fc1.weight", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void The_tradeoff_plot_draws_several_series_with_and_without_a_floor()
    {
        using var dir = new ReportTempFolder();
        IReadOnlyList<(string, IReadOnlyList<(double KeptPercent, double Accuracy)>)> series =
        [
            ("sensitivity", [(5, 0.975), (10, 0.979), (50, 0.98)]),
            ("global", [(50, 0.98), (5, 0.96), (10, 0.975)]),
        ];

        TradeoffPlot.Render(series, 0.97, dir.File("floor.png"));
        TradeoffPlot.Render(series, null, dir.File("plain.png"));

        foreach (string name in new[] { "floor.png", "plain.png" })
        {
            using var bitmap = Decode(dir.File(name));
            Assert.Equal((900, 560), (bitmap.Width, bitmap.Height));
        }
        Assert.Equal(2, Directory.GetFiles(dir.Path).Length);
    }

    [Fact]
    public void A_floor_that_is_not_finite_is_refused()
    {
        using var dir = new ReportTempFolder();
        Assert.Throws<ArgumentException>(() => TradeoffPlot.Render([("a", [(1.0, 0.5)])], double.PositiveInfinity, dir.File("t.png")));
    }
}
