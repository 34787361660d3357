using System.Globalization;
using Shears.Nn;
using SkiaSharp;

namespace Shears.Reports;

/// <summary>
/// The weight patterns of a model's first layer drawn as pictures, as the paper shows them for FCN-1 on MNIST:
/// one H×W tile per output unit, where a tile is that unit's incoming weights laid out as the input image.
/// Drawn for models whose input is one-channel [1, H, W] (or [H, W]) and whose first weight layer is a
/// <see cref="Linear"/> with H·W inputs (only <see cref="Flatten"/> before it): FCN-1 and FCN-2, not CNN-3.
/// </summary>
/// <remarks>
/// Colours: a diverging map per panel, blue for negative, white for zero, red for positive, saturating at the
/// 99th percentile of |w| over the panel's kept weights (symmetric, so white is always zero). Pruned
/// connections are drawn <see cref="PrunedColor"/>, a mid grey that no weight maps to (every weight colour has
/// at least one channel at or near 255 or is white). Drawing is plain pixel writes into an SKBitmap, so it needs
/// no fonts; the panel titles and legend are drawn only when a typeface with glyphs is available.
/// </remarks>
public static class WeightPatternImage
{
    /// <summary>Colour of a pruned connection.</summary>
    public static SKColor PrunedColor { get; } = new(128, 128, 128);

    /// <summary>Colour at −scale (and below).</summary>
    public static SKColor NegativeColor { get; } = new(33, 102, 172);

    /// <summary>Colour at +scale (and above).</summary>
    public static SKColor PositiveColor { get; } = new(178, 24, 43);

    /// <summary>Colour of a weight of exactly zero that is kept.</summary>
    public static SKColor ZeroColor { get; } = SKColors.White;

    /// <summary>The percentile of |w| (over the panel's kept, shown weights) at which the colours saturate.</summary>
    public const double SaturationPercentile = 0.99;

    /// <summary>True when <paramref name="model"/>'s first weight layer can be drawn as image tiles.</summary>
    public static bool CanRender(Sequential model) => FirstLinear(model, out _, out _) is not null;

    /// <summary>
    /// Writes a PNG of the first layer's weight patterns: <paramref name="dense"/>'s panel ("dense") and, when
    /// given, <paramref name="pruned"/>'s beside it ("pruned (kept x% of layer)"), each with one tile per unit for
    /// the first <paramref name="maxUnits"/> units. Written atomically. Throws when a model cannot be drawn
    /// (<see cref="CanRender"/>) or the two models' first layers differ in shape.
    /// </summary>
    public static WeightPatternLayout Render(Sequential dense, Sequential? pruned, string path, int maxUnits = 100)
    {
        ArgumentNullException.ThrowIfNull(dense);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (denseLayer, h, w) = Require(dense);
        Linear? prunedLayer = null;
        if (pruned is not null)
        {
            var (layer, ph, pw) = Require(pruned);
            if (ph != h || pw != w || layer.Outputs != denseLayer.Outputs)
                throw new ArgumentException(
                    $"The pruned model's first layer '{layer.Name}' ({layer.Outputs} units over {ph}×{pw}) does not match the dense model's " +
                    $"'{denseLayer.Name}' ({denseLayer.Outputs} units over {h}×{w}).", nameof(pruned));
            prunedLayer = layer;
        }

        var layout = WeightPatternLayout.For(Math.Min(denseLayer.Outputs, maxUnits), h, w, prunedLayer is null ? 1 : 2);
        using var bitmap = Draw(layout, denseLayer, prunedLayer);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the weight-pattern image as PNG.");
        AtomicFile.Write(path, data.SaveTo);
        return layout;
    }

    /// <summary>The colour a kept weight <paramref name="value"/> gets on a panel that saturates at <paramref name="scale"/>.</summary>
    public static SKColor ColorOf(float value, double scale)
    {
        if (!float.IsFinite(value)) return SKColors.Black;
        double t = scale > 0 ? Math.Clamp(value / scale, -1, 1) : 0;
        var end = t < 0 ? NegativeColor : PositiveColor;
        double a = Math.Abs(t);
        return new SKColor(Lerp(ZeroColor.Red, end.Red, a), Lerp(ZeroColor.Green, end.Green, a), Lerp(ZeroColor.Blue, end.Blue, a));
    }

    /// <summary>The scale a panel's colours saturate at: the <see cref="SaturationPercentile"/> of |w| over the kept weights of the first <paramref name="units"/> units (1 when all are zero).</summary>
    public static double ScaleOf(Parameter weight, int units)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int inputs = weight.Value.Dim(1);
        int n = Math.Min(units, weight.Value.Dim(0)) * inputs;
        var values = weight.Value.ReadOnlySpan[..n];
        bool masked = weight.Mask is not null;
        var mask = masked ? weight.Mask!.ReadOnlySpan[..n] : default;
        var magnitudes = new List<float>(n);
        for (int i = 0; i < n; i++)
            if ((!masked || mask[i] != 0f) && float.IsFinite(values[i])) magnitudes.Add(Math.Abs(values[i]));
        if (magnitudes.Count == 0) return 1;
        magnitudes.Sort();
        double scale = magnitudes[(int)Math.Floor(SaturationPercentile * (magnitudes.Count - 1))];
        return scale > 0 ? scale : magnitudes[^1] > 0 ? magnitudes[^1] : 1;
    }

    private static SKBitmap Draw(WeightPatternLayout layout, Linear dense, Linear? pruned)
    {
        var bitmap = new SKBitmap(new SKImageInfo(layout.Width, layout.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        try
        {
            using var canvas = new SKCanvas(bitmap);
            canvas.Clear(SKColors.White);
            using var font = TextFont();
            // When only the first units are drawn, the titles say so.
            string units = layout.Units < dense.Outputs ? $", first {layout.Units} of {dense.Outputs} units" : "";
            DrawPanel(canvas, bitmap, layout, 0, dense.Weight, $"dense{units}", font);
            if (pruned is not null)
            {
                var weight = pruned.Weight;
                double kept = weight.Count == 0 ? 1 : (double)weight.KeptCount / weight.Count;
                string title = $"pruned (kept {(kept * 100).ToString("0.#", CultureInfo.InvariantCulture)}% of {pruned.Name}{units})";
                DrawPanel(canvas, bitmap, layout, 1, weight, title, font);
            }
            canvas.Flush();
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    private static void DrawPanel(SKCanvas canvas, SKBitmap bitmap, WeightPatternLayout layout, int panel, Parameter weight, string title, SKFont? font)
    {
        double scale = ScaleOf(weight, layout.Units);
        var values = weight.Value.ReadOnlySpan;
        bool masked = weight.Mask is not null;
        var mask = masked ? weight.Mask!.ReadOnlySpan : default;
        int inputs = layout.TileHeight * layout.TileWidth;
        int px = layout.PixelsPerWeight;
        using var frame = new SKPaint { Color = new SKColor(64, 64, 64), Style = SKPaintStyle.Stroke, StrokeWidth = 1, IsAntialias = false };
        // Pixels are written straight into the bitmap's memory (exact colours, no filtering); the canvas only adds frames and text.
        canvas.Flush();
        var pixels = bitmap.GetPixelSpan();
        int stride = bitmap.RowBytes;
        for (int unit = 0; unit < layout.Units; unit++)
        {
            var (tx, ty) = layout.TileOrigin(panel, unit);
            for (int r = 0; r < layout.TileHeight; r++)
                for (int c = 0; c < layout.TileWidth; c++)
                {
                    int i = unit * inputs + r * layout.TileWidth + c;
                    var color = masked && mask[i] == 0f ? PrunedColor : ColorOf(values[i], scale);
                    int x0 = tx + c * px, y0 = ty + r * px;
                    for (int dy = 0; dy < px; dy++)
                    {
                        var row = pixels.Slice((y0 + dy) * stride + x0 * 4, px * 4);
                        for (int dx = 0; dx < px; dx++)
                        {
                            row[dx * 4] = color.Red;
                            row[dx * 4 + 1] = color.Green;
                            row[dx * 4 + 2] = color.Blue;
                            row[dx * 4 + 3] = 255;
                        }
                    }
                }
        }
        bitmap.NotifyPixelsChanged();
        for (int unit = 0; unit < layout.Units; unit++)
        {
            var (tx, ty) = layout.TileOrigin(panel, unit);
            canvas.DrawRect(tx - 0.5f, ty - 0.5f, layout.TileWidth * px + 1, layout.TileHeight * px + 1, frame);
        }
        if (font is null) return;

        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        var (left, top) = layout.PanelOrigin(panel);
        canvas.DrawText(title, left + layout.PanelWidth / 2f, top - WeightPatternLayout.HeaderHeight / 2f + font.Size / 3f, SKTextAlign.Center, font, ink);
        DrawLegend(canvas, layout, panel, scale, font, ink);
    }

    private static void DrawLegend(SKCanvas canvas, WeightPatternLayout layout, int panel, double scale, SKFont font, SKPaint ink)
    {
        var (left, top) = layout.PanelOrigin(panel);
        float y = top + layout.PanelHeight + 10;
        const int barWidth = 120, barHeight = 10;
        float x = left;
        string low = "-" + scale.ToString("0.###", CultureInfo.InvariantCulture);
        string high = "+" + scale.ToString("0.###", CultureInfo.InvariantCulture);
        using var small = new SKFont(font.Typeface, 12);
        canvas.DrawText(low, x, y + barHeight, SKTextAlign.Left, small, ink);
        x += small.MeasureText(low) + 4;
        using var paint = new SKPaint { IsAntialias = false };
        for (int i = 0; i < barWidth; i++)
        {
            paint.Color = ColorOf((float)((2.0 * i / (barWidth - 1) - 1) * scale), scale);
            canvas.DrawRect(x + i, y, 1, barHeight, paint);
        }
        x += barWidth + 4;
        canvas.DrawText(high, x, y + barHeight, SKTextAlign.Left, small, ink);
        x += small.MeasureText(high) + 16;
        paint.Color = PrunedColor;
        canvas.DrawRect(x, y, barHeight, barHeight, paint);
        canvas.DrawText("pruned", x + barHeight + 4, y + barHeight, SKTextAlign.Left, small, ink);
    }

    /// <summary>A sans-serif (else the default) typeface at 16 px, or null when there are no glyphs (a machine without fonts): text is then left out.</summary>
    private static SKFont? TextFont()
    {
        if (ReportFonts.Typeface() is not { } typeface) return null;
        var font = new SKFont(typeface, 16);
        if (font.GetGlyph('p') == 0) { font.Dispose(); return null; }
        return font;
    }

    private static byte Lerp(byte from, byte to, double t) => (byte)Math.Round(from + (to - from) * t);

    private static (Linear Layer, int Height, int Width) Require(Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return FirstLinear(model, out int h, out int w) is { } layer
            ? (layer, h, w)
            : throw new ArgumentException(
                $"Model '{model.Name}' cannot be drawn as weight patterns: that needs a one-channel image input ([1, H, W]) and a first weight " +
                $"layer that is fully connected over its H·W pixels; its input is [{string.Join(", ", model.InputShape)}] and its first weight layer is " +
                $"{model.Layers.FirstOrDefault(l => l.Parameters.Count > 0)?.GetType().Name ?? "missing"}.", nameof(model));
    }

    private static Linear? FirstLinear(Sequential model, out int height, out int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        height = width = 0;
        var shape = model.InputShape;
        if (shape.Length == 3 && shape[0] == 1) (height, width) = (shape[1], shape[2]);
        else if (shape.Length == 2) (height, width) = (shape[0], shape[1]);
        else return null;
        foreach (var layer in model.Layers)
        {
            if (layer is Flatten) continue;
            return layer is Linear linear && linear.Inputs == height * width && linear.Weight.Value.Rank == 2 ? linear : null;
        }
        return null;
    }
}

/// <summary>
/// Where everything sits in a weight-pattern image, in pixels: panels side by side, each a grid of tiles under a
/// title band and above a legend band. <see cref="WeightPixel"/> says where one weight is drawn.
/// </summary>
public sealed record WeightPatternLayout(int Units, int TileHeight, int TileWidth, int Panels, int Columns, int Rows, int PixelsPerWeight)
{
    public const int Margin = 12;
    public const int Gap = 4;
    public const int PanelGap = 24;
    public const int HeaderHeight = 28;
    public const int FooterHeight = 30;

    /// <summary>
    /// Tiles per row: all of them up to 5, two rows up to 10 (FCN-1's ten classes as 5×2), then ten per row up to
    /// 100 (FCN-2's first 100 units as 10×10), then a square-ish grid. 8 pixels per weight up to 10 units, 4 beyond.
    /// </summary>
    public static WeightPatternLayout For(int units, int tileHeight, int tileWidth, int panels)
    {
        if (units <= 0) throw new ArgumentOutOfRangeException(nameof(units), units, "At least one unit must be drawn.");
        if (tileHeight <= 0 || tileWidth <= 0) throw new ArgumentOutOfRangeException(nameof(tileHeight), $"Tiles need a positive size, got {tileHeight}×{tileWidth}.");
        if (panels is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(panels), panels, "One or two panels.");
        int columns = units <= 5 ? units : units <= 10 ? (units + 1) / 2 : units <= 100 ? 10 : (int)Math.Ceiling(Math.Sqrt(units));
        int rows = (units + columns - 1) / columns;
        return new WeightPatternLayout(units, tileHeight, tileWidth, panels, columns, rows, units <= 10 ? 8 : 4);
    }

    public int PanelWidth => Columns * TileWidth * PixelsPerWeight + (Columns - 1) * Gap;

    public int PanelHeight => Rows * TileHeight * PixelsPerWeight + (Rows - 1) * Gap;

    public int Width => 2 * Margin + Panels * PanelWidth + (Panels - 1) * PanelGap;

    public int Height => 2 * Margin + HeaderHeight + PanelHeight + FooterHeight;

    /// <summary>Top-left pixel of panel <paramref name="panel"/>'s first tile (0 = dense, 1 = pruned).</summary>
    public (int X, int Y) PanelOrigin(int panel) => (Margin + panel * (PanelWidth + PanelGap), Margin + HeaderHeight);

    /// <summary>Top-left pixel of <paramref name="unit"/>'s tile in <paramref name="panel"/>.</summary>
    public (int X, int Y) TileOrigin(int panel, int unit)
    {
        if ((uint)unit >= (uint)Units) throw new ArgumentOutOfRangeException(nameof(unit), unit, $"Only {Units} units are drawn.");
        if ((uint)panel >= (uint)Panels) throw new ArgumentOutOfRangeException(nameof(panel), panel, $"Only {Panels} panels are drawn.");
        var (x, y) = PanelOrigin(panel);
        return (x + unit % Columns * (TileWidth * PixelsPerWeight + Gap), y + unit / Columns * (TileHeight * PixelsPerWeight + Gap));
    }

    /// <summary>The centre pixel of the block drawn for the weight from input (<paramref name="row"/>, <paramref name="column"/>) to <paramref name="unit"/>.</summary>
    public (int X, int Y) WeightPixel(int panel, int unit, int row, int column)
    {
        if ((uint)row >= (uint)TileHeight || (uint)column >= (uint)TileWidth)
            throw new ArgumentOutOfRangeException(nameof(row), $"({row}, {column}) is outside the {TileHeight}×{TileWidth} tile.");
        var (x, y) = TileOrigin(panel, unit);
        return (x + column * PixelsPerWeight + PixelsPerWeight / 2, y + row * PixelsPerWeight + PixelsPerWeight / 2);
    }
}
