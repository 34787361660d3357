using ScottPlot;
using Shears.Pruning;

namespace Shears.Reports;

/// <summary>
/// The per-layer sensitivity curves as a line chart: x is the layer's sparsity (percent of its connections
/// pruned, the other layers untouched), y the validation accuracy (percent), with a dashed line at the floor.
/// </summary>
public static class SensitivityPlot
{
    /// <summary>Draws the curves of a report (round 1's measurements) with its floor; false (nothing written) when it has none, as the baselines do not.</summary>
    public static bool Render(PruningReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Sensitivity.Count == 0) return false;
        Render(report.Sensitivity, report.Range.MinAccuracy, path);
        return true;
    }

    /// <summary>Draws <paramref name="curves"/> (by layer name) with a line at <paramref name="floor"/> (a fraction).</summary>
    public static void Render(IReadOnlyDictionary<string, IReadOnlyList<SensitivityPoint>> curves, double floor, string path)
    {
        ArgumentNullException.ThrowIfNull(curves);
        Render(curves.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<(double, double)>)kv.Value.Select(p => (p.Sparsity, p.Accuracy)).ToArray()), floor, path);
    }

    /// <summary>
    /// Draws <paramref name="curves"/>: for each layer name, points of (sparsity, accuracy), both fractions in [0, 1],
    /// in any order (they are drawn by ascending sparsity). <paramref name="floor"/> is an accuracy fraction.
    /// Written to <paramref name="path"/> as PNG, atomically.
    /// </summary>
    public static void Render(IReadOnlyDictionary<string, IReadOnlyList<(double Sparsity, double Accuracy)>> curves, double floor, string path)
    {
        ArgumentNullException.ThrowIfNull(curves);
        ArgumentException.ThrowIfNullOrEmpty(path);
        PlotImage.CheckFinite(floor, "The floor");
        using var plot = new Plot();
        foreach (var (layer, points) in curves)
        {
            ArgumentNullException.ThrowIfNull(points, layer);
            var ordered = points.OrderBy(p => p.Sparsity).ToArray();
            foreach (var p in ordered)
            {
                PlotImage.CheckFinite(p.Sparsity, $"Layer '{layer}': a sparsity");
                PlotImage.CheckFinite(p.Accuracy, $"Layer '{layer}': an accuracy");
            }
            if (ordered.Length == 0) continue;
            var line = plot.Add.Scatter(ordered.Select(p => p.Sparsity * 100).ToArray(), ordered.Select(p => p.Accuracy * 100).ToArray());
            line.LegendText = layer;
            line.LineWidth = 2;
            line.MarkerSize = 5;
        }
        PlotImage.AddFloor(plot, floor);
        plot.Title("Sensitivity of each layer pruned alone");
        plot.XLabel("sparsity of the layer (% of its connections pruned)");
        plot.YLabel("validation accuracy (%)");
        plot.Axes.SetLimitsX(0, 100);
        plot.ShowLegend(Alignment.LowerLeft);
        PlotImage.Save(plot, path);
    }
}
