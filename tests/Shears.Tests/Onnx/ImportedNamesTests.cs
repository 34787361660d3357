using Shears.Onnx;

namespace Shears.Tests.Onnx;

public sealed class ImportedNamesTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch", name);

    [Fact]
    public void Layers_imported_from_pytorch_take_the_state_dict_names_of_their_weights()
    {
        var model = OnnxImporter.Load(Fixture("fcn2_pytorch.onnx"));

        Assert.Equal(["1.weight", "3.weight", "5.weight"], model.PrunableParameters.Select(p => p.Name));
    }

    [Fact]
    public void A_shears_model_keeps_its_layer_names_through_export_and_import()
    {
        var model = Shears.Models.ModelZoo.Create("cnn3", seed: 3);

        var back = OnnxImporter.Load(OnnxExporter.ToBytes(model), "cnn3.onnx");

        Assert.Equal(model.Parameters.Select(p => p.Name), back.Parameters.Select(p => p.Name));
    }
}
