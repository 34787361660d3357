using Shears.Data;
using Shears.Nn;
using Shears.Training;
using Shears.Tests.Nn;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Training;

public class EvaluatorTests
{
    /// <summary>A linear layer holding the identity: the logits are the samples themselves.</summary>
    private static Sequential Identity(int classes)
    {
        var layer = new Linear("fc", classes, classes);
        for (int i = 0; i < classes; i++) layer.Weight.Value[i, i] = 1f;
        return new Sequential("identity", [classes], layer);
    }

    // Logits and labels with known predictions (ties go to the first class).
    private static readonly float[][] Logits =
    [
        [3, 1, 0],   // label 0 → 0 ✓
        [0, 2, 1],   // label 1 → 1 ✓
        [0, 1, 5],   // label 2 → 2 ✓
        [4, 0, 0],   // label 1 → 0 ✗
        [0, 0, 9],   // label 0 → 2 ✗
        [1, 1, 0],   // label 1 → 0 ✗ (tie)
        [0, 3, 0],   // label 1 → 1 ✓
    ];
    private static readonly int[] Labels = [0, 1, 2, 1, 0, 1, 1];

    [Theory]
    [InlineData(1)]
    [InlineData(3)]   // batches of 3, 3 and 1
    [InlineData(7)]
    [InlineData(1000)]
    public void Evaluate_reports_accuracy_loss_and_confusion_matrix_of_known_predictions(int batchSize)
    {
        var data = new Dataset("hand", Logits.SelectMany(r => r).ToArray(), (int[])Labels.Clone(), [3], 3);
        var correct = new bool[7];
        var result = Evaluator.Evaluate(Identity(3), data, batchSize, correct: correct);
        Assert.Equal([true, true, true, false, false, false, true], correct);
        Assert.Equal(7, result.Count);
        Assert.Equal(4, result.Correct);
        Assert.Equal(4.0 / 7, result.Accuracy, 12);
        int[,] expected =
        {
            { 1, 0, 1 },
            { 2, 2, 0 },
            { 0, 0, 1 },
        };
        Assert.Equal(expected, result.ConfusionMatrix);
        double loss = Logits.Select((row, i) => SoftmaxCrossEntropyTests.Reference(ToDouble(row), [Labels[i]], 3)).Average();
        AssertClose(loss, result.Loss, "mean loss", 1e-6, 1e-6);
    }

    [Fact]
    public void A_correctness_buffer_of_the_wrong_length_is_refused()
    {
        var data = new Dataset("hand", Logits.SelectMany(r => r).ToArray(), (int[])Labels.Clone(), [3], 3);
        var e = Assert.Throws<ArgumentException>(() => Evaluator.Evaluate(Identity(3), data, correct: new bool[6]));
        Assert.Contains("hand", e.Message);
    }

    [Fact]
    public void Evaluate_of_an_empty_dataset_is_zero()
    {
        var result = Evaluator.Evaluate(Identity(3), new Dataset("empty", [], [], [3], 3));
        Assert.Equal(0, result.Count);
        Assert.Equal(0, result.Accuracy);
        Assert.Equal(0, result.Loss);
        Assert.Equal(new int[3, 3], result.ConfusionMatrix);
    }

    [Fact]
    public void Evaluate_counts_labels_the_model_cannot_predict_as_errors_with_infinite_loss()
    {
        var data = new Dataset("wide", [1, 0, 0, 0, 0, 1], [0, 3], [3], 4);
        var result = Evaluator.Evaluate(Identity(3), data);
        Assert.Equal(4, result.ConfusionMatrix.GetLength(0));
        Assert.Equal(3, result.ConfusionMatrix.GetLength(1));
        Assert.Equal(1, result.Correct);
        Assert.Equal(1, result.ConfusionMatrix[3, 2]);
        Assert.Equal(double.PositiveInfinity, result.Loss);
    }

    [Fact]
    public void ArgMax_returns_the_first_largest_value()
    {
        Assert.Equal(2, Evaluator.ArgMax([1f, 2f, 5f, 5f, -1f]));
        Assert.Equal(0, Evaluator.ArgMax([7f]));
        Assert.Equal(1, Evaluator.ArgMax([-3f, -2f, -2f]));
    }

    [Fact]
    public void Evaluate_runs_inference_forwards_that_keep_nothing_for_backward()
    {
        var model = Identity(3);
        var data = new Dataset("hand", Logits.SelectMany(r => r).ToArray(), (int[])Labels.Clone(), [3], 3);
        Evaluator.Evaluate(model, data, 2);
        Assert.Throws<InvalidOperationException>(() => model.Backward(new Tensor(1, 3)));
    }
}
