using System.Security.Cryptography;

namespace Shears.Data;

/// <summary>SHA-256 of a file's content, decompressed when the file is gzip (by magic bytes).</summary>
internal static class ContentHash
{
    /// <summary>Lowercase hex SHA-256 of the decompressed content; corrupt gzip raises <see cref="DataFormatException"/> naming the file.</summary>
    public static string Sha256OfContent(string path) => IdxReader.Guard(path, () => Sha256OfContentUnguarded(path));

    /// <summary>As <see cref="Sha256OfContent"/>, but corrupt gzip surfaces as the raw <see cref="InvalidDataException"/> (for temporary downloads, whose path means nothing to a user).</summary>
    public static string Sha256OfContentUnguarded(string path)
    {
        using var content = IdxReader.OpenContent(path);
        return Convert.ToHexStringLower(SHA256.HashData(content));
    }
}
