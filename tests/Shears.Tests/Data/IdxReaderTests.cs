using Shears.Data;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly DataTempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Write(string name, byte[] bytes)
    {
        string path = _temp.Sub(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Gzip_and_raw_idx_files_load_the_same()
    {
        var images = DataIdx.Images(6, 5, 7);
        var labels = DataIdx.Labels(0, 4, 2, 9, 1, 3);
        var rawImages = IdxReader.ReadImages(Write("images", images));
        var gzImages = IdxReader.ReadImages(Write("images.gz", DataIdx.Gzip(images)));
        var rawLabels = IdxReader.ReadLabels(Write("labels", labels));
        var gzLabels = IdxReader.ReadLabels(Write("labels.gz", DataIdx.Gzip(labels)));

        Assert.Equal((6, 5, 7), (rawImages.Count, rawImages.Rows, rawImages.Columns));
        Assert.Equal((6, 5, 7), (gzImages.Count, gzImages.Rows, gzImages.Columns));
        Assert.Equal(images[16..], rawImages.Pixels);
        Assert.Equal(rawImages.Pixels, gzImages.Pixels);
        Assert.Equal(new byte[] { 0, 4, 2, 9, 1, 3 }, rawLabels);
        Assert.Equal(rawLabels, gzLabels);
    }

    [Fact]
    public void Gzip_is_detected_by_magic_bytes_not_by_file_name()
    {
        var images = DataIdx.Images(2, 3, 3);
        var gzipUnderPlainName = IdxReader.ReadImages(Write("images-idx3-ubyte", DataIdx.Gzip(images)));
        var rawUnderGzName = IdxReader.ReadImages(Write("images-idx3-ubyte.gz", images));

        Assert.Equal(images[16..], gzipUnderPlainName.Pixels);
        Assert.Equal(images[16..], rawUnderGzName.Pixels);
        Assert.True(IdxReader.IsGzip(_temp.Sub("images-idx3-ubyte")));
        Assert.False(IdxReader.IsGzip(_temp.Sub("images-idx3-ubyte.gz")));
    }

    [Fact]
    public void Image_files_with_no_images_load_empty()
    {
        var empty = IdxReader.ReadImages(Write("empty", DataIdx.Images(0, 28, 28)));
        Assert.Equal(0, empty.Count);
        Assert.Empty(empty.Pixels);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_label_file_read_as_images_names_the_file_and_both_magic_numbers(bool gzip)
    {
        var labels = DataIdx.Labels(1, 2, 3);
        string path = Write("swapped", gzip ? DataIdx.Gzip(labels) : labels);

        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(path));

        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path, e.Message);
        Assert.Contains("wrong magic number", e.Message);
        Assert.Contains("expected 0x00000803", e.Message);
        Assert.Contains("found 0x00000801", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_idx_at_all_reports_the_magic_it_found()
    {
        string path = Write("page.html", "<html>Not Found</html>"u8.ToArray());
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadLabels(path));
        Assert.Contains("expected 0x00000801", e.Message);
        Assert.Contains("found 0x3c68746d", e.Message);
    }

    [Theory]
    [InlineData(false, "file")]
    [InlineData(true, "decompressed content")]
    public void Truncated_images_report_expected_and_actual_bytes(bool gzip, string what)
    {
        var images = DataIdx.Images(10, 4, 4); // 16 + 160 bytes
        var cut = images[..100];
        string path = Write("cut-images", gzip ? DataIdx.Gzip(cut) : cut);

        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("expected 176 bytes", e.Message);
        Assert.Contains($"the {what} holds only 100", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(10)]
    public void A_truncated_header_is_reported_as_truncated(int length)
    {
        string path = Write("short", DataIdx.Images(1, 2, 2)[..length]);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(path));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("expected 16 bytes", e.Message);
        Assert.Contains($"holds only {length}", e.Message);
    }

    [Fact]
    public void A_truncated_label_file_is_reported_with_sizes()
    {
        string path = Write("labels", DataIdx.Labels(1, 2, 3, 4)[..10]);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadLabels(path));
        Assert.Contains("expected 12 bytes", e.Message);
        Assert.Contains("holds only 10", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Trailing_bytes_after_the_declared_data_are_an_error(bool gzip)
    {
        byte[] labels = [.. DataIdx.Labels(1, 2, 3), 7, 7];
        string path = Write("long", gzip ? DataIdx.Gzip(labels) : labels);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadLabels(path));
        Assert.Contains("trailing data", e.Message);
        Assert.Contains("expected 11 bytes", e.Message);
        Assert.Contains("2 more", e.Message);
    }

    [Fact]
    public void A_header_declaring_huge_gzipped_content_fails_as_truncated_without_allocating_it()
    {
        // 2^31 − 1 images of 1000 × 1000: far more than an array can hold.
        string tooBig = Write("huge", DataIdx.Gzip(DataIdx.Header(DataIdx.ImagesMagic, int.MaxValue, 1000, 1000)));
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(tooBig));
        Assert.Contains("more than one array can hold", e.Message);

        // 100 000 images of 100 × 100 (1 GB) declared, 30 bytes present.
        byte[] lying = [.. DataIdx.Header(DataIdx.ImagesMagic, 100_000, 100, 100), .. new byte[30]];
        string path = Write("lying", DataIdx.Gzip(lying));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var truncated = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "should not allocate for data that is not there");
        Assert.Contains("expected 1000000016 bytes", truncated.Message);
        Assert.Contains("holds only 46", truncated.Message);
    }

    [Fact]
    public void Zero_sized_images_are_rejected()
    {
        string path = Write("flat", DataIdx.Header(DataIdx.ImagesMagic, 3, 0, 28));
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(path));
        Assert.Contains("0×28", e.Message);
    }

    [Fact]
    public void A_dimension_above_int_max_is_rejected()
    {
        byte[] header = DataIdx.Header(DataIdx.LabelsMagic, 0);
        header[4] = 0x80;
        string path = Write("negative", header);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadLabels(path));
        Assert.Contains("2147483648", e.Message);
    }

    [Fact]
    public void Corrupt_gzip_gives_a_data_format_exception_naming_the_file()
    {
        byte[] gzip = DataIdx.Gzip(DataIdx.Images(20, 8, 8));
        for (int i = 10; i < gzip.Length - 8; i++) gzip[i] ^= 0x5a; // keep the gzip magic, scramble the deflate stream
        string path = Write("corrupt.gz", gzip);

        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("corrupt gzip", e.Message);
    }

    [Fact]
    public void A_gzip_header_with_nothing_after_it_is_reported_not_crashed_on()
    {
        string path = Write("stub.gz", [0x1f, 0x8b]);
        var e = Assert.ThrowsAny<ShearsException>(() => IdxReader.ReadLabels(path));
        Assert.IsType<DataFormatException>(e);
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void A_missing_file_raises_files_missing_naming_it()
    {
        string path = _temp.Sub("absent-idx1-ubyte");
        var e = Assert.Throws<DatasetFilesMissingException>(() => IdxReader.ReadLabels(path));
        Assert.Equal(["absent-idx1-ubyte"], e.MissingFiles);
        Assert.Contains("absent-idx1-ubyte", e.Message);
    }

    [Fact]
    public void Unsupported_data_types_are_named_in_the_error()
    {
        string path = Write("floats", DataIdx.Header(0x00000D03, 1, 2, 2)); // idx3 of float32
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(path));
        Assert.Contains("found 0x00000d03 (idx3 of data type 0x0d)", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Damaged_files_only_ever_raise_typed_shears_exceptions(bool gzip)
    {
        var random = new Random(1234);
        byte[] images = DataIdx.Images(30, 6, 5);
        byte[] labels = DataIdx.CyclicLabels(30, 10);
        for (int trial = 0; trial < 150; trial++)
        {
            byte[] source = trial % 2 == 0 ? images : labels;
            byte[] bytes = gzip ? DataIdx.Gzip(source) : (byte[])source.Clone();
            if (trial % 3 == 0)
                bytes = bytes[..random.Next(bytes.Length)];
            else
                for (int flips = random.Next(1, 4); flips > 0; flips--)
                    bytes[random.Next(Math.Min(bytes.Length, gzip ? bytes.Length : 24))] ^= (byte)random.Next(1, 256);
            string path = Write($"damaged-{trial}", bytes);

            foreach (Action read in new Action[] { () => IdxReader.ReadImages(path), () => IdxReader.ReadLabels(path) })
            {
                try
                {
                    read();
                }
                catch (DataFormatException e)
                {
                    Assert.Equal(path, e.FilePath); // anything else (IndexOutOfRange, InvalidData, …) fails the test
                }
            }
        }
    }
}
