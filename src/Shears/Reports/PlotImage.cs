using ScottPlot;

namespace Shears.Reports;

/// <summary>What the report's charts share: size, axis formatting in percent, and the atomic PNG write.</summary>
internal static class PlotImage
{
    public const int Width = 900;
    public const int Height = 560;

    /// <summary>A dashed horizontal line at <paramref name="floor"/> (a fraction), drawn in percent, labelled in the legend.</summary>
    public static void AddFloor(Plot plot, double floor)
    {
        var line = plot.Add.HorizontalLine(floor * 100);
        line.LineWidth = 1.5f;
        line.LinePattern = LinePattern.Dashed;
        line.Color = Colors.Black;
        line.LegendText = $"floor {Percent(floor)}";
    }

    public static string Percent(double fraction) =>
        (fraction * 100).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + "%";

    /// <summary>Renders <paramref name="plot"/> to PNG and writes it to <paramref name="path"/> atomically.</summary>
    public static void Save(Plot plot, string path)
    {
        if (ReportFonts.SansFamily is { } family) plot.Font.Set(family);
        byte[] png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }

    public static void CheckFinite(double value, string what)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"{what} must be a finite number, got {value}.");
    }
}
