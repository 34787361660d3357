using SkiaSharp;

namespace Shears.Reports;

/// <summary>
/// The sans-serif family the images use, found among the installed fonts (the Linux native asset without
/// fontconfig falls back to whatever it finds first, often a serif). Null when none of the usual families is
/// installed: text then uses the default typeface, or is left out when even that has no glyphs.
/// </summary>
internal static class ReportFonts
{
    private static readonly string[] Candidates = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Segoe UI"];

    private static readonly Lazy<string?> Sans = new(Find);

    public static string? SansFamily => Sans.Value;

    /// <summary>The sans-serif typeface, else the default one; null when it has no glyphs (a machine without fonts).</summary>
    public static SKTypeface? Typeface()
    {
        var typeface = SansFamily is { } family ? SKTypeface.FromFamilyName(family) : SKTypeface.Default;
        return typeface is not null && typeface.GlyphCount > 0 ? typeface : null;
    }

    private static string? Find()
    {
        foreach (string name in Candidates)
        {
            using var typeface = SKFontManager.Default.MatchFamily(name);
            if (typeface is not null && typeface.GlyphCount > 0 && string.Equals(typeface.FamilyName, name, StringComparison.OrdinalIgnoreCase))
                return name;
        }
        return null;
    }
}
