namespace Shears.Data;

/// <summary>
/// Loads any folder holding the four IDX files of an image-classification dataset in the MNIST layout:
/// <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>,
/// <c>t10k-labels-idx1-ubyte</c>, each raw or gzipped with a <c>.gz</c> suffix (the dotted spelling
/// <c>train-images.idx3-ubyte</c> some copies use is accepted too). Images become [1, rows, columns] samples
/// with pixel/255 values; both splits share one class count.
/// </summary>
public static class ImageClassificationFolder
{
    public const string TrainImages = "train-images-idx3-ubyte";
    public const string TrainLabels = "train-labels-idx1-ubyte";
    public const string TestImages = "t10k-images-idx3-ubyte";
    public const string TestLabels = "t10k-labels-idx1-ubyte";

    /// <summary>The four file names, without compression suffix.</summary>
    public static IReadOnlyList<string> FileNames { get; } = [TrainImages, TrainLabels, TestImages, TestLabels];

    private static readonly float[] ByteToUnit = BuildByteToUnit();

    /// <summary>
    /// The path of <paramref name="fileName"/> in <paramref name="folder"/>, or null when absent. Tries the raw
    /// name first (fastest to load), then <c>.gz</c>, then the dotted spelling of both.
    /// </summary>
    public static string? FindFile(string folder, string fileName)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        foreach (string candidate in CandidateNames(fileName))
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>The names among <paramref name="fileNames"/> (default: the four IDX files) that <paramref name="folder"/> lacks.</summary>
    public static IReadOnlyList<string> MissingFiles(string folder, IEnumerable<string>? fileNames = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return (fileNames ?? FileNames).Where(f => FindFile(folder, f) is null).ToArray();
    }

    /// <summary>True when <paramref name="folder"/> exists and holds all four IDX files.</summary>
    public static bool HoldsDataset(string folder) =>
        Directory.Exists(folder) && MissingFiles(folder).Count == 0;

    /// <summary>
    /// Loads the train and test splits. <paramref name="name"/> defaults to the folder's name;
    /// <paramref name="classCount"/> defaults to the largest label in either split + 1, and when given every
    /// label must be below it.
    /// </summary>
    public static DatasetSplits Load(string folder, string? name = null, int? classCount = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (classCount is < 1)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "The class count must be at least 1.");
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DatasetUnavailableException("the dataset folder does not exist", full);
        var missing = MissingFiles(full);
        if (missing.Count > 0)
            throw new DatasetFilesMissingException(full, missing);
        name ??= Path.GetFileName(Path.TrimEndingDirectorySeparator(full));

        var (trainImages, trainLabels, trainImagesPath, trainLabelsPath) = ReadPair(full, TrainImages, TrainLabels);
        var (testImages, testLabels, testImagesPath, testLabelsPath) = ReadPair(full, TestImages, TestLabels);

        if (testImages.Rows != trainImages.Rows || testImages.Columns != trainImages.Columns)
            throw new DataFormatException(
                $"images are {testImages.Rows}×{testImages.Columns} pixels but the training images ({Path.GetFileName(trainImagesPath)}) are {trainImages.Rows}×{trainImages.Columns}",
                testImagesPath);

        int classes = classCount ?? Math.Max(MaxLabel(trainLabels), MaxLabel(testLabels)) + 1;
        CheckLabelRange(trainLabels, classes, trainLabelsPath);
        CheckLabelRange(testLabels, classes, testLabelsPath);

        int[] shape = [1, trainImages.Rows, trainImages.Columns];
        return new DatasetSplits(
            new Dataset($"{name}/train", ToUnitFloats(trainImages.Pixels), ToInts(trainLabels), shape, classes),
            new Dataset($"{name}/test", ToUnitFloats(testImages.Pixels), ToInts(testLabels), shape, classes));
    }

    /// <summary>Loads one images/labels pair as a dataset, checking that the counts agree and labels are below <paramref name="classCount"/> when given.</summary>
    public static Dataset LoadPair(string imagesPath, string labelsPath, string name, int? classCount = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        ArgumentNullException.ThrowIfNull(name);
        var images = IdxReader.ReadImages(imagesPath);
        var labels = IdxReader.ReadLabels(labelsPath);
        CheckCounts(images, labels, imagesPath, labelsPath);
        int classes = classCount ?? MaxLabel(labels) + 1;
        CheckLabelRange(labels, classes, labelsPath);
        return new Dataset(name, ToUnitFloats(images.Pixels), ToInts(labels), [1, images.Rows, images.Columns], classes);
    }

    private static (IdxImages Images, byte[] Labels, string ImagesPath, string LabelsPath) ReadPair(string folder, string imagesName, string labelsName)
    {
        string imagesPath = FindFile(folder, imagesName)!;
        string labelsPath = FindFile(folder, labelsName)!;
        var images = IdxReader.ReadImages(imagesPath);
        var labels = IdxReader.ReadLabels(labelsPath);
        CheckCounts(images, labels, imagesPath, labelsPath);
        return (images, labels, imagesPath, labelsPath);
    }

    private static void CheckCounts(IdxImages images, byte[] labels, string imagesPath, string labelsPath)
    {
        if (images.Count != labels.Length)
            throw new DataFormatException(
                $"counts disagree: holds {labels.Length} labels but {Path.GetFileName(imagesPath)} holds {images.Count} images", labelsPath);
    }

    private static void CheckLabelRange(byte[] labels, int classCount, string labelsPath)
    {
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= classCount)
                throw new DataFormatException(
                    $"label {labels[i]} at index {i} is outside the class range 0..{classCount - 1} ({classCount} classes)", labelsPath);
    }

    private static int MaxLabel(byte[] labels)
    {
        int max = -1;
        foreach (byte b in labels) max = Math.Max(max, b);
        return max;
    }

    private static float[] ToUnitFloats(byte[] pixels)
    {
        var result = GC.AllocateUninitializedArray<float>(pixels.Length);
        ReadOnlySpan<float> table = ByteToUnit;
        for (int i = 0; i < pixels.Length; i++)
            result[i] = table[pixels[i]];
        return result;
    }

    private static int[] ToInts(byte[] labels)
    {
        var result = new int[labels.Length];
        for (int i = 0; i < labels.Length; i++) result[i] = labels[i];
        return result;
    }

    private static float[] BuildByteToUnit()
    {
        var table = new float[256];
        for (int i = 0; i < table.Length; i++) table[i] = i / 255f;
        return table;
    }

    /// <summary>The names <paramref name="fileName"/> may be stored under, in the order <see cref="FindFile"/> tries them.</summary>
    internal static IEnumerable<string> CandidateNames(string fileName)
    {
        yield return fileName;
        yield return fileName + ".gz";
        // "train-images-idx3-ubyte" is also published as "train-images.idx3-ubyte".
        int dash = fileName.LastIndexOf("-idx", StringComparison.Ordinal);
        if (dash > 0)
        {
            string dotted = string.Concat(fileName.AsSpan(0, dash), ".", fileName.AsSpan(dash + 1));
            yield return dotted;
            yield return dotted + ".gz";
        }
    }
}
