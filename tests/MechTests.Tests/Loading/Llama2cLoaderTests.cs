using System.Buffers.Binary;
using MechTests.Models;
using MechTests.Models.Loading;
using Xunit;
using static MechTests.Tests.Loading.LoadingTestSupport;

namespace MechTests.Tests.Loading;

public class Llama2cLoaderTests
{
    // stories260K header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len.
    private const int D = 64, Hid = 172, L = 5, H = 8, Kv = 4, V = 512, Seq = 512, Hs = D / H, Q = H * Hs, KvW = Kv * Hs;

    private static readonly Lazy<byte[]> FileBytes = new(() => File.ReadAllBytes(Stories260KPath));
    private static readonly Lazy<LoadedWeights> Loaded = new(() => Llama2cLoader.Load(Stories260KPath));

    // Float index (after the 28-byte header) where each array starts, from the documented legacy layout.
    private const long Emb = 0, RmsAtt = Emb + (long)V * D, Wq = RmsAtt + (long)L * D, Wk = Wq + (long)L * Q * D,
        Wv = Wk + (long)L * KvW * D, Wo = Wv + (long)L * KvW * D, RmsFfn = Wo + (long)L * D * Q, W1 = RmsFfn + (long)L * D,
        W2 = W1 + (long)L * Hid * D, W3 = W2 + (long)L * D * Hid, RmsFinal = W3 + (long)L * Hid * D;

    private static int FileBits(long floatIndex) =>
        BinaryPrimitives.ReadInt32LittleEndian(FileBytes.Value.AsSpan((int)(28 + 4 * floatIndex)));

    [Fact]
    public void Stories260K_header_maps_to_the_config()
    {
        var c = Loaded.Value.Config;
        Assert.Equal(Architecture.Llama, c.Architecture);
        Assert.Equal((D, Hid, L, H, Kv, Hs, V, Seq), (c.DModel, c.DMlp, c.NLayers, c.NHeads, c.NKvHeads, c.DHead, c.VocabSize, c.MaxPositions));
        Assert.Equal(NormKind.RmsNorm, c.Norm);
        Assert.Equal(1e-5f, c.NormEps);
        Assert.Equal(ActivationKind.Silu, c.Activation);
        Assert.True(c.GatedMlp);
        Assert.Equal(RotaryStyle.Interleaved, c.Rotary);
        Assert.Equal(Hs, c.RotaryDims);
        Assert.Equal(10000f, c.RotaryBase);
        Assert.True(c.TiedEmbeddings);
        Assert.False(c.LearnedPositions);
        Assert.Equal(1, c.BosTokenId);
        Assert.Equal(2, c.EosTokenId);
        Assert.Equal(1_056_540, Llama2cLoader.ReadHeader(Stories260KPath).ExpectedFileBytes);
    }

    [Fact]
    public void Stories260K_arrays_are_bit_equal_to_the_file_at_their_documented_offsets()
    {
        var w = Loaded.Value.Weights;
        for (int i = 0; i < V * D; i++) Assert.Equal(FileBits(Emb + i), Bits(w.TokenEmbed[i]));
        Assert.Same(w.TokenEmbed, w.Unembed);
        for (int i = 0; i < D; i++)
        {
            Assert.Equal(FileBits(RmsAtt + 2 * D + i), Bits(w.Layers[2].Ln1Weight[i]));
            Assert.Equal(FileBits(RmsFfn + 3 * D + i), Bits(w.Layers[3].Ln2Weight[i]));
            Assert.Equal(FileBits(RmsFinal + i), Bits(w.LnFinalWeight[i]));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Stories260K_projections_are_transposed_from_out_in_to_in_out(int layer)
    {
        var lw = Loaded.Value.Weights.Layers[layer];
        // File stores W[out][in] per layer; canonical is [in, out], element (i, o) at i·out + o.
        void Check(float[] canonical, long start, int outDim, int inDim)
        {
            long layerStart = start + (long)layer * outDim * inDim;
            for (int o = 0; o < outDim; o++)
                for (int i = 0; i < inDim; i++)
                    Assert.Equal(FileBits(layerStart + (long)o * inDim + i), Bits(canonical[i * outDim + o]));
        }
        Check(lw.Wq, Wq, Q, D);
        Check(lw.Wk, Wk, KvW, D);
        Check(lw.Wv, Wv, KvW, D);
        Check(lw.Wo, Wo, D, Q);
        Check(lw.WGate!, W1, Hid, D);  // w1 → gate
        Check(lw.WOut, W2, D, Hid);    // w2 → out
        Check(lw.WIn, W3, Hid, D);     // w3 → up
        Assert.Null(lw.Bq);
        Assert.Null(lw.Ln1Bias);
    }

    [Theory]
    [InlineData(-4)]
    [InlineData(8)]
    [InlineData(-1_056_540 + 20)]
    public void A_file_whose_size_differs_from_the_header_fails_naming_both_byte_counts(int delta)
    {
        using var dir = new TempDir();
        string path = dir.File("stories260K.bin");
        byte[] bytes = FileBytes.Value;
        int newLength = bytes.Length + delta;
        var copy = new byte[newLength];
        bytes.AsSpan(0, Math.Min(bytes.Length, newLength)).CopyTo(copy);
        File.WriteAllBytes(path, copy);

        var ex = Assert.Throws<InvalidDataException>(() => Llama2cLoader.Load(path));
        if (newLength < 28)
        {
            Assert.Contains("too short", ex.Message);
            return;
        }
        Assert.Contains(path, ex.Message);
        Assert.Contains("dim=64, hidden_dim=172, n_layers=5, n_heads=8, n_kv_heads=4, vocab_size=512, seq_len=512", ex.Message);
        Assert.Contains($"implies 1056540 bytes but the file has {newLength} bytes", ex.Message);
    }

    /// <summary>Writes a tiny llama2.c file whose floats are 0, 1, 2, … so every array's origin is visible.</summary>
    private static string WriteTiny(TempDir dir, int[] header, long? floatCountOverride = null)
    {
        string path = dir.File("tiny.bin");
        int d = header[0], hid = header[1], l = header[2], h = header[3], kv = header[4], v = Math.Abs(header[5]), seq = header[6];
        int hs = h == 0 ? 0 : d / h;
        long floats = floatCountOverride ?? ((long)v * d + l * d + (long)l * d * h * hs + 2L * l * d * kv * hs + (long)l * h * hs * d
            + l * d + 3L * l * d * hid + d + 2L * (seq * hs / 2) + (header[5] < 0 ? (long)v * d : 0));
        using var fs = File.Create(path);
        using var bw = new BinaryWriter(fs);
        foreach (int x in header) bw.Write(x);
        for (long i = 0; i < floats; i++) bw.Write((float)i);
        return path;
    }

    [Fact]
    public void A_negative_vocab_size_reads_a_separate_classifier_after_the_rope_tables()
    {
        using var dir = new TempDir();
        // dim 8, hidden 12, 1 layer, 2 heads, 1 kv head, vocab 5 (classifier not shared), seq 4.
        string path = WriteTiny(dir, [8, 12, 1, 2, 1, -5, 4]);
        var loaded = Llama2cLoader.Load(path);
        var c = loaded.Config;
        Assert.False(c.TiedEmbeddings);
        Assert.Equal(5, c.VocabSize);
        Assert.Equal(1, c.NKvHeads);
        var w = loaded.Weights;
        Assert.NotSame(w.TokenEmbed, w.Unembed);
        Assert.Equal(0f, w.TokenEmbed[0]);
        // Classifier = last 5·8 floats; total floats = file floats.
        long total = (new FileInfo(path).Length - 28) / 4;
        Assert.Equal(total - 40, w.Unembed[0]);
        Assert.Equal(total - 1, w.Unembed[39]);
        // rms_final sits right before the 2·(4·4/2) = 16 rope floats and the classifier.
        Assert.Equal(total - 40 - 16 - 8, w.LnFinalWeight[0]);
        Assert.Equal(loaded.WeightFiles, [path]);
    }

    [Fact]
    public void Bad_header_values_name_the_field()
    {
        using var dir = new TempDir();
        string path = WriteTiny(dir, [8, 12, 1, 3, 1, 5, 4], floatCountOverride: 10);
        var ex = Assert.Throws<InvalidDataException>(() => Llama2cLoader.Load(path));
        Assert.Contains("header field 'dim' is 8, expected a multiple of n_heads=3", ex.Message);

        path = WriteTiny(dir, [8, 12, 1, 2, 0, 5, 4], floatCountOverride: 10);
        ex = Assert.Throws<InvalidDataException>(() => Llama2cLoader.Load(path));
        Assert.Contains("header field 'n_kv_heads' is 0", ex.Message);
    }

    [Fact]
    public void A_versioned_export_is_refused_with_a_hint()
    {
        using var dir = new TempDir();
        string path = WriteTiny(dir, [0x616b3432, 1, 0, 0, 0, 0, 0], floatCountOverride: 64);
        var ex = Assert.Throws<InvalidDataException>(() => Llama2cLoader.Load(path));
        Assert.Contains("versioned llama2.c export", ex.Message);
    }
}
