using Shears.Nn;
using Shears.Training;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Training;

public sealed class DistillationTests
{
    private static double[] SoftmaxAt(double[] z, int row, int classes, double temperature)
    {
        double max = double.NegativeInfinity;
        for (int c = 0; c < classes; c++) max = Math.Max(max, z[row * classes + c]);
        var p = new double[classes];
        double sum = 0;
        for (int c = 0; c < classes; c++) sum += p[c] = Math.Exp((z[row * classes + c] - max) / temperature);
        for (int c = 0; c < classes; c++) p[c] /= sum;
        return p;
    }

    /// <summary>(1 − α)·CE + α·T²·KL(q ‖ softmax(z/T)), the mean over rows, in double.</summary>
    private static double Reference(double[] z, int[] labels, double[] targets, int[] samples, int classes, double t, double alpha)
    {
        double hard = Nn.SoftmaxCrossEntropyTests.Reference(z, labels, classes);
        double soft = 0;
        for (int r = 0; r < labels.Length; r++)
        {
            var p = SoftmaxAt(z, r, classes, t);
            for (int c = 0; c < classes; c++)
            {
                double q = targets[samples[r] * classes + c];
                if (q > 0) soft += q * (Math.Log(q) - Math.Log(p[c]));
            }
        }
        return (1 - alpha) * hard + alpha * t * t * soft / labels.Length;
    }

    private static Tensor RandomTargets(Random rng, int count, int classes)
    {
        var targets = new Tensor(count, classes);
        for (int i = 0; i < count; i++)
        {
            var row = targets.Span.Slice(i * classes, classes);
            for (int c = 0; c < classes; c++) row[c] = (float)(rng.NextDouble() + 0.01);
            float sum = 0;
            foreach (float v in row) sum += v;
            for (int c = 0; c < classes; c++) row[c] /= sum;
        }
        return targets;
    }

    [Theory]
    [InlineData(5, 10, 4.0, 0.9)]
    [InlineData(3, 17, 1.0, 0.5)]
    [InlineData(1, 2, 2.5, 1.0)]
    [InlineData(7, 33, 8.0, 0.1)]
    public void The_loss_matches_a_double_reference_and_its_gradient_matches_finite_differences(int batch, int classes, double temperature, double alpha)
    {
        var rng = new Random(batch * 1000 + classes);
        int samplesInSet = batch + 5;
        var targets = RandomTargets(rng, samplesInSet, classes);
        var logits = RandomFloats(rng, batch * classes, 3.0);
        var labels = Enumerable.Range(0, batch).Select(_ => rng.Next(classes)).ToArray();
        // Rows come from anywhere in the training set (a shuffled batch): the targets must follow the sample index.
        var samples = Enumerable.Range(0, samplesInSet).OrderBy(_ => rng.Next()).Take(batch).ToArray();
        var loss = new DistillationLoss(new Distillation(targets, (float)temperature, (float)alpha));

        var (value, gradient) = loss.Compute(new Tensor((float[])logits.Clone(), batch, classes), labels, samples);

        var z = ToDouble(logits);
        var q = ToDouble(targets.ReadOnlySpan);
        AssertClose(Reference(z, labels, q, samples, classes, temperature, alpha), value, "loss", 1e-5, 1e-4);
        AssertAllClose(CentralDifferences(z, () => Reference(z, labels, q, samples, classes, temperature, alpha)), gradient.ReadOnlySpan,
            "dLoss/dlogits", 1e-5, 1e-3);
    }

    [Fact]
    public void A_student_that_already_matches_its_teacher_feels_only_the_labels()
    {
        var rng = new Random(3);
        const int batch = 4, classes = 6;
        const float t = 3f;
        var logits = RandomFloats(rng, batch * classes, 2.0);
        var targets = new Tensor(batch, classes);
        for (int r = 0; r < batch; r++)
            Distillation.SoftmaxAt(logits.AsSpan(r * classes, classes), t, targets.Span.Slice(r * classes, classes));
        int[] labels = [0, 5, 2, 2], samples = [0, 1, 2, 3];

        var (distilled, gradient) = new DistillationLoss(new Distillation(targets, t, 0.25f)).Compute(new Tensor(logits, batch, classes), labels, samples);
        var (hard, hardGradient) = new SoftmaxCrossEntropy().Compute(new Tensor(logits, batch, classes), labels);

        AssertClose(0.75 * hard, distilled, "loss", 1e-6, 1e-5);
        AssertAllClose(ToDouble(hardGradient.ReadOnlySpan).Select(g => 0.75 * g).ToArray(), gradient.ReadOnlySpan, "gradient", 1e-6, 1e-4);
    }

    [Fact]
    public void The_teacher_targets_are_its_softened_probabilities_in_dataset_order()
    {
        var model = TrainingTestSupport.Fcn(initSeed: 5);
        var data = TrainingTestSupport.Synthetic(37, seed: 2);
        // A batch size that does not divide the dataset: the last batch is short.
        var distillation = Distillation.FromTeacher(model, data, temperature: 2.5f, weight: 0.7f, batchSize: 10);

        Assert.Equal([37, TrainingTestSupport.Classes], distillation.Targets.Shape.ToArray());
        Assert.Equal(0.7f, distillation.Weight);
        for (int i = 0; i < data.Count; i++)
        {
            var logits = model.Forward(new Tensor(data.Sample(i).ToArray(), 1, 1, 4, 4), training: false);
            var expected = SoftmaxAt(ToDouble(logits.ReadOnlySpan), 0, TrainingTestSupport.Classes, 2.5);
            AssertAllClose(expected, distillation.Targets.ReadOnlySpan.Slice(i * TrainingTestSupport.Classes, TrainingTestSupport.Classes), $"sample {i}", 1e-6, 1e-4);
        }
    }

    [Fact]
    public void Training_by_distillation_alone_pulls_a_student_towards_its_teacher()
    {
        var data = TrainingTestSupport.Synthetic(256, seed: 4);
        var teacher = TrainingTestSupport.Fcn(initSeed: 1);
        new Trainer(teacher, new TrainingOptions { Epochs = 5, BatchSize = 32, LearningRate = 0.01f }).Train(data);
        const float t = 2f;
        var distillation = Distillation.FromTeacher(teacher, data, t, weight: 1f);
        var student = TrainingTestSupport.Fcn(initSeed: 9, hidden: 8);
        var labelsOnly = TrainingTestSupport.Fcn(initSeed: 9, hidden: 8);
        double Disagreement(Sequential model) => Distance(distillation, Distillation.FromTeacher(model, data, t, 1f));

        double before = Disagreement(student);
        new Trainer(student, new TrainingOptions { Epochs = 8, BatchSize = 32, LearningRate = 0.01f, Distillation = distillation }).Train(data);
        new Trainer(labelsOnly, new TrainingOptions { Epochs = 8, BatchSize = 32, LearningRate = 0.01f }).Train(data);
        double after = Disagreement(student), fromLabels = Disagreement(labelsOnly);

        Assert.True(after < 0.5 * before, $"The student's softened outputs should approach the teacher's: mean |Δp| {before:0.0000} → {after:0.0000}.");
        Assert.True(after < fromLabels, $"Distillation should bring the student closer to the teacher than the labels do: {after:0.0000} against {fromLabels:0.0000}.");
    }

    private static double Distance(Distillation a, Distillation b)
    {
        double sum = 0;
        var x = a.Targets.ReadOnlySpan;
        var y = b.Targets.ReadOnlySpan;
        for (int i = 0; i < x.Length; i++) sum += Math.Abs(x[i] - y[i]);
        return sum / x.Length;
    }

    [Fact]
    public void Targets_that_do_not_fit_the_data_or_the_model_are_refused()
    {
        var data = TrainingTestSupport.Synthetic(20, seed: 1);
        var model = TrainingTestSupport.Fcn(initSeed: 1);
        var wrongCount = new Distillation(RandomTargets(new Random(1), 19, TrainingTestSupport.Classes), 2f, 0.5f);
        var ex = Assert.Throws<ArgumentException>(() => new Trainer(model, new TrainingOptions { Epochs = 1, Distillation = wrongCount }).Train(data));
        Assert.Contains("19", ex.Message);
        Assert.Contains(data.Name, ex.Message);
        var wrongClasses = new Distillation(RandomTargets(new Random(1), 20, 3), 2f, 0.5f);
        Assert.Throws<ArgumentException>(() => new Trainer(model, new TrainingOptions { Epochs = 1, Distillation = wrongClasses }).Train(data));

        var targets = RandomTargets(new Random(1), 4, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Distillation(targets, 0.5f, 0.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Distillation(targets, 2f, 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Distillation(targets, 2f, 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Distillation(targets, float.NaN, 0.5f));
        Assert.Throws<ArgumentException>(() => new Distillation(new Tensor(12), 2f, 0.5f));
        var loss = new DistillationLoss(new Distillation(targets, 2f, 0.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => loss.Compute(new Tensor(1, 3), [0], [4]));
    }
}
