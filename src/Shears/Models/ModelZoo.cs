using Shears.Nn;

namespace Shears.Models;

/// <summary>The paper's Table 1 networks. Every model takes [1, H, W] images; fully connected ones flatten first.</summary>
public static class ModelZoo
{
    public static IReadOnlyList<string> Names { get; } = ["fcn1", "fcn2", "cnn3"];

    /// <summary>Builds and initialises a zoo model for images of <paramref name="inputShape"/> ([C, H, W]) and <paramref name="classes"/> classes.</summary>
    public static Sequential Create(string name, int[] inputShape, int classes, int seed)
    {
        var model = name switch
        {
            "fcn1" => Fcn1(inputShape, classes),
            "fcn2" => Fcn2(inputShape, classes),
            "cnn3" => Cnn3(inputShape, classes),
            _ => throw new ArgumentException($"Unknown model '{name}'; choose one of {string.Join(", ", Names)}."),
        };
        Initializer.HeUniform(model, seed);
        return model;
    }

    public static Sequential Create(string name, int seed = 0) => Create(name, [1, 28, 28], 10, seed);

    /// <summary>FCN-1: one fully connected layer, 784→10.</summary>
    public static Sequential Fcn1(int[] inputShape, int classes) =>
        new("fcn1", inputShape, new Flatten("flatten"), new Linear("fc1", Pixels(inputShape), classes));

    /// <summary>FCN-2: 784→300→100→10 with ReLU.</summary>
    public static Sequential Fcn2(int[] inputShape, int classes) =>
        new("fcn2", inputShape,
            new Flatten("flatten"),
            new Linear("fc1", Pixels(inputShape), 300), new Relu("relu1"),
            new Linear("fc2", 300, 100), new Relu("relu2"),
            new Linear("fc3", 100, classes));

    /// <summary>CNN-3: conv 3×3×32 same → ReLU → max-pool 2 → conv 3×3×64 same → ReLU → max-pool 2 → fully connected.</summary>
    public static Sequential Cnn3(int[] inputShape, int classes)
    {
        if (inputShape.Length != 3) throw new ArgumentException($"cnn3 needs [C, H, W] images, got [{string.Join(", ", inputShape)}].");
        int h = inputShape[1] / 2 / 2, w = inputShape[2] / 2 / 2;
        return new("cnn3", inputShape,
            new Conv2d("conv1", inputShape[0], 32, 3, padding: 1), new Relu("relu1"), new MaxPool2d("pool1", 2),
            new Conv2d("conv2", 32, 64, 3, padding: 1), new Relu("relu2"), new MaxPool2d("pool2", 2),
            new Flatten("flatten"), new Linear("fc", 64 * h * w, classes));
    }

    private static int Pixels(int[] shape) => shape.Aggregate(1, (a, b) => a * b);
}
