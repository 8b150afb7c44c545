using System.Security.Cryptography;
using MechTests.Graphs;
using MechTests.Models;

namespace MechTests.Circuits;

/// <summary>
/// Which model a circuit belongs to: the shape that fixes its graph plus the SHA-256 of the weights, so a circuit
/// is never checked against the wrong model.
/// </summary>
/// <param name="Architecture"><c>gpt2</c>, <c>gpt_neox</c> or <c>llama</c> (Hugging Face <c>model_type</c> names).</param>
/// <param name="NLayers">Blocks.</param>
/// <param name="NHeads">Query heads per block.</param>
/// <param name="DModel">Residual width.</param>
/// <param name="VocabSize">Vocabulary size.</param>
/// <param name="ParallelAttnMlp">Whether MLP l does not read layer l's heads (changes the graph).</param>
/// <param name="WeightsSha256">Lower-case hex SHA-256 of the weights (of the file for loaded models; see <see cref="HashWeights"/>).</param>
public sealed record ModelIdentity(string Architecture, int NLayers, int NHeads, int DModel, int VocabSize, bool ParallelAttnMlp, string WeightsSha256)
{
    /// <summary>The identity of a config with a known weights hash.</summary>
    public static ModelIdentity From(ModelConfig c, string weightsSha256)
        => new(ArchitectureName(c.Architecture), c.NLayers, c.NHeads, c.DModel, c.VocabSize, c.ParallelAttnMlp, weightsSha256);

    /// <summary>The identity of a loaded model (its file hash).</summary>
    public static ModelIdentity From(LoadedModel m) => From(m.Config, m.WeightsSha256);

    /// <summary>
    /// SHA-256 over every weight array's name and little-endian float bytes, in <see cref="ModelWeights.Named"/>
    /// order: an identity for models that exist only in memory (random weights in tests).
    /// </summary>
    public static string HashWeights(ModelWeights weights)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> le = stackalloc byte[4];
        foreach (var (name, value) in weights.Named())
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name + "\n"));
            if (BitConverter.IsLittleEndian) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(value.AsSpan()));
            else
            {
                foreach (float f in value)
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(le, f);
                    sha.AppendData(le);
                }
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The file name of an architecture: <c>gpt2</c>, <c>gpt_neox</c>, <c>llama</c>.</summary>
    public static string ArchitectureName(Architecture a) => a switch
    {
        Models.Architecture.Gpt2 => "gpt2",
        Models.Architecture.GptNeoX => "gpt_neox",
        _ => "llama",
    };

    /// <summary>The residual-stream graph of this shape.</summary>
    public ComputeGraph Graph() => ComputeGraph.For(new ModelConfig { NLayers = NLayers, NHeads = NHeads, NKvHeads = NHeads, ParallelAttnMlp = ParallelAttnMlp, DModel = DModel });

    /// <summary>Every way this identity differs from a model (empty when it matches), each a readable line.</summary>
    public IReadOnlyList<string> Mismatches(ModelConfig c, string weightsSha256)
    {
        var other = From(c, weightsSha256);
        var result = new List<string>();
        void Check<T>(string field, T mine, T theirs)
        {
            if (!EqualityComparer<T>.Default.Equals(mine, theirs)) result.Add($"{field}: circuit has {mine}, model has {theirs}");
        }
        Check("architecture", Architecture, other.Architecture);
        Check("nLayers", NLayers, other.NLayers);
        Check("nHeads", NHeads, other.NHeads);
        Check("dModel", DModel, other.DModel);
        Check("vocabSize", VocabSize, other.VocabSize);
        Check("parallelAttnMlp", ParallelAttnMlp, other.ParallelAttnMlp);
        Check("weightsSha256", WeightsSha256, other.WeightsSha256);
        return result;
    }
}
