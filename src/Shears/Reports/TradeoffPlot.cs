using ScottPlot;

namespace Shears.Reports;

/// <summary>
/// Accuracy against connections kept for several series (allocations, criteria, baselines): x is the percent of
/// connections kept, y the accuracy (percent), with an optional dashed line at the floor.
/// </summary>
public static class TradeoffPlot
{
    /// <summary>
    /// Draws each series' points: <c>KeptPercent</c> in [0, 100] (percent of connections kept), <c>Accuracy</c> a
    /// fraction in [0, 1]; points are joined by ascending kept percent. <paramref name="floor"/> (an accuracy
    /// fraction) adds a dashed line. Written to <paramref name="path"/> as PNG, atomically.
    /// </summary>
    public static void Render(IReadOnlyList<(string Series, IReadOnlyList<(double KeptPercent, double Accuracy)> Points)> series, double? floor, string path)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (floor is double f) PlotImage.CheckFinite(f, "The floor");
        using var plot = new Plot();
        foreach (var (name, points) in series)
        {
            ArgumentNullException.ThrowIfNull(points, name);
            var ordered = points.OrderBy(p => p.KeptPercent).ToArray();
            foreach (var p in ordered)
            {
                PlotImage.CheckFinite(p.KeptPercent, $"Series '{name}': a kept percent");
                PlotImage.CheckFinite(p.Accuracy, $"Series '{name}': an accuracy");
            }
            if (ordered.Length == 0) continue;
            var line = plot.Add.Scatter(ordered.Select(p => p.KeptPercent).ToArray(), ordered.Select(p => p.Accuracy * 100).ToArray());
            line.LegendText = name;
            line.LineWidth = 2;
            line.MarkerSize = 6;
        }
        if (floor is double value) PlotImage.AddFloor(plot, value);
        plot.Title("Accuracy against connections kept");
        plot.XLabel("connections kept (%)");
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(Alignment.LowerRight);
        PlotImage.Save(plot, path);
    }
}
