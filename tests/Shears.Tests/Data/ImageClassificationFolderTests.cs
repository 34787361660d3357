using Shears.Data;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Data;

public sealed class ImageClassificationFolderTests : IDisposable
{
    private readonly DataTempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_folder_of_gzipped_files_loads_the_same_as_one_of_raw_files()
    {
        DataIdx.WriteFolder(_temp.Folder("gz"), gzip: true);
        DataIdx.WriteFolder(_temp.Folder("raw"), gzip: false);

        var gz = ImageClassificationFolder.Load(_temp.Sub("gz"));
        var raw = ImageClassificationFolder.Load(_temp.Sub("raw"));

        Assert.Equal(raw.Train.Images, gz.Train.Images);
        Assert.Equal(raw.Train.Labels, gz.Train.Labels);
        Assert.Equal(raw.Test.Images, gz.Test.Images);
        Assert.Equal(raw.Test.Labels, gz.Test.Labels);
        Assert.Equal("gz/train", gz.Train.Name);
        Assert.Equal("gz/test", gz.Test.Name);
    }

    [Fact]
    public void Loaded_datasets_have_counts_shape_classes_and_pixels_scaled_to_unit_range()
    {
        var content = DataIdx.WriteFolder(_temp.Folder("set"), gzip: false, trainCount: 12, testCount: 5, rows: 4, columns: 3, classes: 3);

        var splits = ImageClassificationFolder.Load(_temp.Sub("set"), name: "tiny");

        Assert.Equal("tiny/train", splits.Train.Name);
        Assert.Equal(12, splits.Train.Count);
        Assert.Equal(5, splits.Test.Count);
        Assert.Equal([1, 4, 3], splits.Train.SampleShape);
        Assert.Equal([1, 4, 3], splits.Test.SampleShape);
        Assert.Equal(12, splits.Train.SampleLength);
        Assert.Equal(3, splits.Train.ClassCount);
        Assert.Equal(3, splits.Test.ClassCount);
        byte[] pixels = content.Files[DataFolderContent.TrainImages][16..];
        Assert.Equal(pixels.Select(p => p / 255f).ToArray(), splits.Train.Images);
        Assert.All(splits.Train.Images, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void Any_number_of_classes_and_any_image_size_load()
    {
        string folder = _temp.Folder("many");
        File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte"), DataIdx.Images(300, 2, 5));
        File.WriteAllBytes(Path.Combine(folder, "train-labels-idx1-ubyte"), DataIdx.CyclicLabels(300, 200));
        File.WriteAllBytes(Path.Combine(folder, "t10k-images-idx3-ubyte"), DataIdx.Images(3, 2, 5));
        File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte"), DataIdx.Labels(250, 0, 1));

        var splits = ImageClassificationFolder.Load(folder);

        Assert.Equal(251, splits.Train.ClassCount); // the largest label in either split + 1, shared
        Assert.Equal(251, splits.Test.ClassCount);
        Assert.Equal([1, 2, 5], splits.Train.SampleShape);
        Assert.Equal(250, splits.Test.Labels[0]);
    }

    [Fact]
    public void The_dotted_file_names_some_copies_use_are_accepted()
    {
        string folder = _temp.Folder("dotted");
        var content = DataFolderContent.Make();
        foreach (var (name, bytes) in content.Files)
            File.WriteAllBytes(Path.Combine(folder, name.Replace("-idx", ".idx")), bytes);

        Assert.True(ImageClassificationFolder.HoldsDataset(folder));
        Assert.Equal(12, ImageClassificationFolder.Load(folder).Train.Count);
    }

    [Fact]
    public void Missing_files_are_listed_by_name()
    {
        string folder = _temp.Folder("partial");
        DataIdx.WriteFolder(folder, gzip: true);
        File.Delete(Path.Combine(folder, "train-labels-idx1-ubyte.gz"));
        File.Delete(Path.Combine(folder, "t10k-images-idx3-ubyte.gz"));

        var e = Assert.Throws<DatasetFilesMissingException>(() => ImageClassificationFolder.Load(folder));

        Assert.Equal(["train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"], e.MissingFiles);
        Assert.Equal(folder, e.FilePath);
        Assert.Contains("missing train-labels-idx1-ubyte, t10k-images-idx3-ubyte", e.Message);
        Assert.False(ImageClassificationFolder.HoldsDataset(folder));
    }

    [Fact]
    public void A_folder_that_does_not_exist_is_a_typed_error()
    {
        var e = Assert.Throws<DatasetUnavailableException>(() => ImageClassificationFolder.Load(_temp.Sub("nowhere")));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void Counts_that_disagree_between_images_and_labels_name_both_files()
    {
        string folder = _temp.Folder("counts");
        DataIdx.WriteFolder(folder, gzip: false, testCount: 5);
        string labels = Path.Combine(folder, "t10k-labels-idx1-ubyte");
        File.WriteAllBytes(labels, DataIdx.CyclicLabels(4, 3));

        var e = Assert.Throws<DataFormatException>(() => ImageClassificationFolder.Load(folder));

        Assert.Equal(labels, e.FilePath);
        Assert.Contains("counts disagree", e.Message);
        Assert.Contains("4 labels", e.Message);
        Assert.Contains("t10k-images-idx3-ubyte holds 5 images", e.Message);
    }

    [Fact]
    public void A_label_outside_the_given_class_range_names_the_file_label_and_index()
    {
        string folder = _temp.Folder("range");
        DataIdx.WriteFolder(folder, gzip: true, trainCount: 4);
        string labels = Path.Combine(folder, "train-labels-idx1-ubyte.gz");
        File.WriteAllBytes(labels, DataIdx.Gzip(DataIdx.Labels(0, 1, 10, 2)));

        var e = Assert.Throws<DataFormatException>(() => ImageClassificationFolder.Load(folder, classCount: 10));

        Assert.Equal(labels, e.FilePath);
        Assert.Contains("label 10 at index 2", e.Message);
        Assert.Contains("0..9", e.Message);
    }

    [Fact]
    public void Train_and_test_images_of_different_sizes_are_rejected()
    {
        string folder = _temp.Folder("sizes");
        DataIdx.WriteFolder(folder, gzip: false, testCount: 5, rows: 4, columns: 3);
        string testImages = Path.Combine(folder, "t10k-images-idx3-ubyte");
        File.WriteAllBytes(testImages, DataIdx.Images(5, 3, 4));

        var e = Assert.Throws<DataFormatException>(() => ImageClassificationFolder.Load(folder));

        Assert.Equal(testImages, e.FilePath);
        Assert.Contains("3×4", e.Message);
        Assert.Contains("4×3", e.Message);
    }

    [Fact]
    public void A_bad_file_inside_a_folder_surfaces_its_own_error()
    {
        string folder = _temp.Folder("bad");
        DataIdx.WriteFolder(folder, gzip: false);
        string images = Path.Combine(folder, "train-images-idx3-ubyte");
        File.WriteAllBytes(images, DataIdx.Labels(1, 2));

        var e = Assert.Throws<DataFormatException>(() => ImageClassificationFolder.Load(folder));

        Assert.Equal(images, e.FilePath);
        Assert.Contains("wrong magic number", e.Message);
    }

    [Fact]
    public void LoadPair_loads_one_split_and_checks_it()
    {
        string images = _temp.Sub("im");
        string labels = _temp.Sub("lb");
        File.WriteAllBytes(images, DataIdx.Images(3, 2, 2));
        File.WriteAllBytes(labels, DataIdx.Labels(2, 0, 1));

        var d = ImageClassificationFolder.LoadPair(images, labels, "pair", classCount: 5);

        Assert.Equal(3, d.Count);
        Assert.Equal(5, d.ClassCount);
        Assert.Throws<DataFormatException>(() => ImageClassificationFolder.LoadPair(images, labels, "pair", classCount: 2));
    }
}
