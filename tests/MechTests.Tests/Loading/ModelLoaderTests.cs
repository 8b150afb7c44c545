using System.Security.Cryptography;
using MechTests.Models;
using MechTests.Models.Loading;
using Xunit;
using static MechTests.Tests.Loading.LoadingTestSupport;

namespace MechTests.Tests.Loading;

public class ModelLoaderTests
{
    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public void A_bin_file_loads_through_llama2c_with_the_file_hash()
    {
        string path = Stories260KPath;
        LoadedModel m = ModelLoader.Load(path);
        Assert.Equal(Architecture.Llama, m.Config.Architecture);
        Assert.Equal(64, m.Config.DModel);
        Assert.Equal(path, m.SourcePath);
        Assert.Equal(Sha(File.ReadAllBytes(path)), m.WeightsSha256);
        Assert.Matches("^[0-9a-f]{64}$", m.WeightsSha256);
        // The llama2.c tokenizer next to the weights is found from the header's vocabulary size.
        Assert.NotNull(m.Tokenizer);
        Assert.Equal(1, m.Tokenizer!.BosId);
        Assert.Equal(512, m.Tokenizer.VocabSize);
    }

    [Fact]
    public void A_folder_loads_through_hugging_face_with_the_safetensors_hash()
    {
        using var dir = new TempDir();
        HfFolder.NeoX().Write(dir);
        var m = ModelLoader.Load(dir.Path);
        Assert.Equal(Architecture.GptNeoX, m.Config.Architecture);
        Assert.Equal(Sha(File.ReadAllBytes(dir.File("model.safetensors"))), m.WeightsSha256);
    }

    [Fact]
    public void A_sharded_folder_hashes_the_index_then_the_shards_in_name_order()
    {
        using var dir = new TempDir();
        string[] files = HfFolder.Llama().WriteSharded(dir);
        var m = ModelLoader.Load(dir.Path);
        byte[] all = [.. files.SelectMany(File.ReadAllBytes)];
        Assert.Equal(Sha(all), m.WeightsSha256);
        Assert.Equal(Sha(all), ModelLoader.Sha256Hex(files));
    }

    [Fact]
    public void Unsupported_and_missing_paths_are_named()
    {
        using var dir = new TempDir();
        string txt = dir.File("weights.txt");
        File.WriteAllText(txt, "x");
        var ex = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(txt));
        Assert.StartsWith(txt + ":", ex.Message);
        Assert.Contains("Hugging Face model folder", ex.Message);

        string missing = dir.File("nope.bin");
        var nf = Assert.Throws<FileNotFoundException>(() => ModelLoader.Load(missing));
        Assert.Contains(missing, nf.Message);
    }
}
