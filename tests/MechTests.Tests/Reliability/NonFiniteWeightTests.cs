using System.Buffers.Binary;
using System.Text.Json;
using MechTests.Models.Loading;
using MechTests.Tests.Cli;
using MechTests.Tests.Loading;
using Xunit;

namespace MechTests.Tests.Reliability;

/// <summary>
/// Issue 19, defect 2: a model whose weights hold NaN or ±Infinity loaded, <c>generate</c> printed garbage with exit 0
/// and <c>logits --json</c> wrote a truncated document. Loading now refuses such a model naming the file and weight.
/// </summary>
public class NonFiniteWeightTests
{
    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void TheScanFindsTheFirstNonFiniteElementAtEveryPositionAndLength(float bad)
    {
        for (int length = 0; length <= 70; length++)
        {
            var values = LoadingTestSupport.Pattern(length, length);
            if (length > 0) values[length / 2] = float.MaxValue; // large but finite
            Assert.Equal(-1, WeightChecks.FirstNonFinite(values));
            for (int at = 0; at < length; at++)
            {
                var copy = (float[])values.Clone();
                copy[at] = bad;
                if (at + 3 < length) copy[at + 3] = float.NaN; // a later one does not hide the first
                Assert.Equal(at, WeightChecks.FirstNonFinite(copy));
            }
        }
        Assert.Equal(-1, WeightChecks.FirstNonFinite([float.Epsilon, -float.MaxValue, 0f, -0f]));
    }

    [Fact]
    public void AFusedQkvTensorIsCheckedBeforeItIsSplit()
    {
        using var dir = new TempDir();
        string folder = Gpt2With(dir, "transformer.h.0.attn.c_attn.weight", 3, float.NaN);
        var e = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(folder));
        Assert.Equal($"{Path.Combine(folder, "model.safetensors")}: tensor 'transformer.h.0.attn.c_attn.weight' has a non-finite value (NaN) at element 3; every weight must be a finite number.", e.Message);
    }

    [Fact]
    public void WeightsMadeInMemoryAreCheckedByName()
    {
        var weights = MechTests.Models.RandomWeights.Create(MechTests.Models.ModelPresets.Tiny(MechTests.Models.Architecture.Llama), 3);
        WeightChecks.CheckFinite(weights, "tiny");
        weights.Layers[1].WOut[5] = float.NegativeInfinity;
        var e = Assert.Throws<InvalidDataException>(() => WeightChecks.CheckFinite(weights, "tiny"));
        Assert.Equal("tiny: weight 'blocks.1.mlp.W_out' has a non-finite value (-Infinity) at element 5; every weight must be a finite number.", e.Message);
    }

    [Fact]
    public void ALlama2cFileWithANaNWeightIsRefusedNamingTheFileAndTheWeight()
    {
        using var dir = new TempDir();
        string bin = dir.File("stories260K.bin");
        File.Copy(LoadingTestSupport.Stories260KPath, bin);
        File.Copy(Path.Combine(Path.GetDirectoryName(LoadingTestSupport.Stories260KPath)!, "tok512.bin"), dir.File("tok512.bin"));
        var bytes = File.ReadAllBytes(bin);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(28 + 4 * 1000), float.NaN); // header is 7 int32s; then the token embedding
        File.WriteAllBytes(bin, bytes);
        var e = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(bin));
        Assert.Contains(bin, e.Message);
        Assert.Equal($"{bin}: 'token_embedding' has a non-finite value (NaN) at element 1000; every weight must be a finite number.", e.Message);
    }

    /// <summary>A copy of the reference GPT-2 folder with one element of <paramref name="tensor"/> replaced.</summary>
    internal static string Gpt2With(TempDir dir, string tensor, int element, float value)
    {
        string source = TestPaths.Fixture("reference/gpt2");
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, dir.File(Path.GetFileName(f)));
        string st = dir.File("model.safetensors");
        var bytes = File.ReadAllBytes(st);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var entry = header.RootElement.GetProperty(tensor);
        Assert.Equal("F32", entry.GetProperty("dtype").GetString());
        int begin = entry.GetProperty("data_offsets")[0].GetInt32();
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + headerLength + begin + 4 * element), value);
        File.WriteAllBytes(st, bytes);
        return dir.Path;
    }

    [Fact]
    public void AHuggingFaceFolderWithAnInfiniteWeightIsRefusedAndTheCliWritesNothingToStdout()
    {
        using var dir = new TempDir();
        string folder = Gpt2With(dir, "transformer.h.1.mlp.c_proj.weight", 7, float.PositiveInfinity);
        var e = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(folder));
        // The file's own tensor name and the element in file order ([in, out] for GPT-2's Conv1D weights).
        Assert.Equal($"{Path.Combine(folder, "model.safetensors")}: tensor 'transformer.h.1.mlp.c_proj.weight' has a non-finite value (+Infinity) at element 7; every weight must be a finite number.", e.Message);

        var (code, stdout, stderr) = CliRunner.Run("logits", "--model", folder, "--tokens", "1,2,3", "--json");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("transformer.h.1.mlp.c_proj.weight", stderr);
    }
}
