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

    [Fact]
    public void Extra_metadata_is_written_and_read_back_and_the_exporters_own_keys_are_refused()
    {
        var model = Shears.Models.ModelZoo.Create("fcn1", seed: 1);
        string path = Path.Combine(Path.GetTempPath(), $"shears-meta-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Export(model, path, new OnnxExportOptions { Metadata = new Dictionary<string, string> { ["shears.validation"] = "random:5000:2" } });
            var metadata = OnnxImporter.ReadMetadata(path);
            Assert.Equal("random:5000:2", metadata["shears.validation"]);
            Assert.Equal("fcn1", metadata[OnnxExporter.ModelNameKey]);
            Assert.False(OnnxImporter.ReadMetadata(Fixture("fcn2_pytorch.onnx")).ContainsKey("shears.validation"));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(model,
            new OnnxExportOptions { Metadata = new Dictionary<string, string> { [OnnxExporter.MaskedParametersKey] = "x" } }));
    }
}
