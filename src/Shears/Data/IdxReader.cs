using System.Buffers.Binary;
using System.IO.Compression;

namespace Shears.Data;

/// <summary>The content of an idx3 unsigned-byte image file: <see cref="Count"/> images of <see cref="Rows"/> × <see cref="Columns"/> pixels.</summary>
public sealed class IdxImages
{
    internal IdxImages(int count, int rows, int columns, byte[] pixels)
    {
        Count = count;
        Rows = rows;
        Columns = columns;
        Pixels = pixels;
    }

    public int Count { get; }

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>Count × Rows × Columns raw pixel bytes, image after image, each row-major.</summary>
    public byte[] Pixels { get; }
}

/// <summary>
/// Reads IDX files (the MNIST format): a big-endian header — two zero bytes, a data-type byte, a dimension
/// count, then one big-endian int32 per dimension — followed by the data. Files may be raw or gzip-compressed;
/// gzip is detected from the magic bytes 1f 8b, never from the file name. Every problem with a file's content
/// surfaces as a <see cref="DataFormatException"/> naming the file; a file that is absent raises
/// <see cref="DatasetFilesMissingException"/>, one that cannot be read <see cref="DatasetUnavailableException"/>.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an idx3 file of unsigned bytes (images: count × rows × columns).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an idx1 file of unsigned bytes (labels: count).</summary>
    public const int LabelsMagic = 0x00000801;

    private const int MaxTrailingBytesCounted = 1 << 20;

    /// <summary>Reads an idx3 unsigned-byte image file.</summary>
    public static IdxImages ReadImages(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Guard(path, () =>
        {
            using var content = OpenContentCore(path, out bool gzip);
            int[] dims = ReadHeader(content, path, ImagesMagic, gzip);
            if (dims[1] == 0 || dims[2] == 0)
                throw new DataFormatException($"images are {dims[1]}×{dims[2]} pixels; both sides must be at least 1", path);
            string layout = $"{HeaderBytes(3)}-byte header + {dims[0]} × {dims[1]} × {dims[2]} pixels";
            long bodyBytes = BodyBytes(path, layout, dims);
            byte[] pixels = ReadBody(content, path, HeaderBytes(3), bodyBytes, layout, gzip);
            return new IdxImages(dims[0], dims[1], dims[2], pixels);
        });
    }

    /// <summary>Reads an idx1 unsigned-byte label file; each byte is one label.</summary>
    public static byte[] ReadLabels(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Guard(path, () =>
        {
            using var content = OpenContentCore(path, out bool gzip);
            int[] dims = ReadHeader(content, path, LabelsMagic, gzip);
            string layout = $"{HeaderBytes(1)}-byte header + {dims[0]} labels";
            return ReadBody(content, path, HeaderBytes(1), BodyBytes(path, layout, dims), layout, gzip);
        });
    }

    /// <summary>True when the file starts with the gzip magic bytes 1f 8b.</summary>
    public static bool IsGzip(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Guard(path, () =>
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            return StartsWithGzipMagic(file);
        });
    }

    /// <summary>
    /// Opens the file's content: decompressed when it is gzip (by magic bytes), the file itself otherwise.
    /// The caller disposes the stream. Reads from a gzip stream throw <see cref="InvalidDataException"/> on
    /// corrupt data; <see cref="ReadImages"/> and friends turn that into <see cref="DataFormatException"/>.
    /// </summary>
    public static Stream OpenContent(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Guard(path, () => OpenContentCore(path, out _));
    }

    /// <summary>
    /// Runs one fallible read of <paramref name="path"/> and turns every failure into the typed exception that
    /// names the file: corrupt gzip and bad content into <see cref="DataFormatException"/>, a missing file into
    /// <see cref="DatasetFilesMissingException"/>, other IO failures into <see cref="DatasetUnavailableException"/>.
    /// </summary>
    internal static T Guard<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"corrupt gzip data: {e.Message}", path, e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
            throw new DatasetFilesMissingException(folder, [Path.GetFileName(path)]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetUnavailableException($"cannot read the file: {e.Message}", path, inner: e);
        }
    }

    private static Stream OpenContentCore(string path, out bool gzip)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            gzip = StartsWithGzipMagic(file);
            file.Position = 0;
            return gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: false) : file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static bool StartsWithGzipMagic(Stream stream)
    {
        Span<byte> magic = stackalloc byte[2];
        return stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    private static int HeaderBytes(int dimensions) => 4 + 4 * dimensions;

    private static string Describe(int magic) => magic switch
    {
        ImagesMagic => "idx3 unsigned-byte images",
        LabelsMagic => "idx1 unsigned-byte labels",
        _ when (magic & unchecked((int)0xFFFF0000)) == 0 => $"idx{magic & 0xFF} of data type 0x{(magic >> 8) & 0xFF:x2}",
        _ => "not an IDX header",
    };

    private static string ContentWord(bool gzip) => gzip ? "decompressed content" : "file";

    private static int[] ReadHeader(Stream content, string path, int expectedMagic, bool gzip)
    {
        int dimensions = expectedMagic & 0xFF;
        int headerBytes = HeaderBytes(dimensions);
        Span<byte> header = stackalloc byte[16];
        header = header[..headerBytes];

        int got = content.ReadAtLeast(header[..4], 4, throwOnEndOfStream: false);
        if (got < 4)
            throw Truncated(path, headerBytes, got, $"a {headerBytes}-byte {Describe(expectedMagic)} header", gzip);

        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != expectedMagic)
            throw new DataFormatException(
                $"wrong magic number: expected 0x{expectedMagic:x8} ({Describe(expectedMagic)}) but found 0x{magic:x8} ({Describe(magic)})", path);

        got = content.ReadAtLeast(header[4..], headerBytes - 4, throwOnEndOfStream: false);
        if (got < headerBytes - 4)
            throw Truncated(path, headerBytes, 4 + got, $"a {headerBytes}-byte {Describe(expectedMagic)} header", gzip);

        var dims = new int[dimensions];
        for (int i = 0; i < dimensions; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(header[(4 + 4 * i)..]);
            if (d > int.MaxValue)
                throw new DataFormatException($"dimension {i} of the header is {d}, which is not a valid size", path);
            dims[i] = (int)d;
        }
        return dims;
    }

    /// <summary>The product of the dimensions, which must fit one array (computed wide: three int32 sizes can overflow a long).</summary>
    private static long BodyBytes(string path, string layout, int[] dims)
    {
        Int128 total = 1;
        foreach (int d in dims) total *= d;
        if (total > Array.MaxLength)
            throw new DataFormatException($"the header declares {total} bytes of data ({layout}), more than one array can hold", path);
        return (long)total;
    }

    private static byte[] ReadBody(Stream content, string path, long headerBytes, long bodyBytes, string layout, bool gzip)
    {
        if (!gzip && content.CanSeek)
        {
            // Raw file: the length is known up front, so a bad header never makes us allocate for data that is not there.
            long total = content.Length;
            if (total < headerBytes + bodyBytes)
                throw Truncated(path, headerBytes + bodyBytes, total, layout, gzip);
            if (total > headerBytes + bodyBytes)
                throw TooLong(path, headerBytes + bodyBytes, total - headerBytes - bodyBytes, layout, gzip, atLeast: false);
            var data = GC.AllocateUninitializedArray<byte>((int)bodyBytes);
            content.ReadExactly(data);
            return data;
        }

        // Decompressed stream of unknown length: grow with the data that arrives, so a bogus header cannot make
        // us allocate gigabytes before we find the content is short.
        var buffer = GC.AllocateUninitializedArray<byte>((int)Math.Min(bodyBytes, 1 << 20));
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (filled == bodyBytes) break;
                Array.Resize(ref buffer, (int)Math.Min(bodyBytes, 2L * buffer.Length));
            }
            int n = content.Read(buffer, filled, buffer.Length - filled);
            if (n == 0) break;
            filled += n;
        }
        if (filled < bodyBytes)
            throw Truncated(path, headerBytes + bodyBytes, headerBytes + filled, layout, gzip);

        long extra = 0;
        Span<byte> scratch = stackalloc byte[4096];
        int r;
        while (extra < MaxTrailingBytesCounted && (r = content.Read(scratch)) > 0)
            extra += r;
        if (extra > 0)
            throw TooLong(path, headerBytes + bodyBytes, extra, layout, gzip, atLeast: extra >= MaxTrailingBytesCounted);
        return buffer;
    }

    private static DataFormatException Truncated(string path, long expected, long actual, string layout, bool gzip) =>
        new($"truncated: expected {expected} bytes ({layout}) but the {ContentWord(gzip)} holds only {actual}" +
            (gzip ? " (the gzip file itself may have been cut short)" : ""), path);

    private static DataFormatException TooLong(string path, long expected, long extra, string layout, bool gzip, bool atLeast) =>
        new($"unexpected trailing data: expected {expected} bytes ({layout}) but the {ContentWord(gzip)} holds {(atLeast ? "at least " : "")}{extra} more", path);
}
