using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MechTests.Models.Loading;

/// <summary>The seven int32 values at the start of a legacy llama2.c checkpoint.</summary>
/// <param name="Dim">Residual width.</param>
/// <param name="HiddenDim">MLP hidden width.</param>
/// <param name="NLayers">Number of blocks.</param>
/// <param name="NHeads">Query heads.</param>
/// <param name="NKvHeads">Key/value heads.</param>
/// <param name="RawVocabSize">Vocabulary size as stored: negative means the classifier is stored separately.</param>
/// <param name="SeqLen">Maximum sequence length (also the length of the stored RoPE tables).</param>
public sealed record Llama2cHeader(int Dim, int HiddenDim, int NLayers, int NHeads, int NKvHeads, int RawVocabSize, int SeqLen)
{
    /// <summary>Size of the header in bytes.</summary>
    public const int Bytes = 7 * sizeof(int);

    /// <summary>Vocabulary size (the absolute value of the stored one).</summary>
    public int VocabSize => Math.Abs(RawVocabSize);

    /// <summary>Whether the classifier is the token embedding (stored vocab size is positive).</summary>
    public bool SharedClassifier => RawVocabSize > 0;

    /// <summary>Width of one head: dim / n_heads.</summary>
    public int HeadSize => Dim / NHeads;

    /// <summary>Number of floats in the two legacy RoPE tables (freq_cis_real and freq_cis_imag) that are skipped.</summary>
    public long RopeTableFloats => 2L * ((long)SeqLen * HeadSize / 2);

    /// <summary>The exact file size the header implies; throws <see cref="OverflowException"/> for absurd values.</summary>
    public long ExpectedFileBytes
    {
        get
        {
            checked
            {
                long d = Dim, hid = HiddenDim, l = NLayers, v = VocabSize;
                long q = (long)NHeads * HeadSize, kv = (long)NKvHeads * HeadSize;
                long floats = v * d           // token_embedding
                    + l * d                   // rms_att
                    + l * q * d               // wq
                    + 2 * l * kv * d          // wk, wv
                    + l * d * q               // wo
                    + l * d                   // rms_ffn
                    + 3 * l * hid * d         // w1, w2, w3
                    + d                       // rms_final
                    + RopeTableFloats
                    + (SharedClassifier ? 0 : v * d);
                return Bytes + floats * sizeof(float);
            }
        }
    }

    /// <summary>The header as <c>dim=…, hidden_dim=…, …</c>, used in error messages.</summary>
    public override string ToString() =>
        $"dim={Dim}, hidden_dim={HiddenDim}, n_layers={NLayers}, n_heads={NHeads}, n_kv_heads={NKvHeads}, " +
        $"vocab_size={RawVocabSize}, seq_len={SeqLen}";
}

/// <summary>
/// Reads Andrej Karpathy's llama2.c legacy checkpoints (<c>.bin</c>): a 28-byte header, then float32 arrays stored
/// <c>[out][in]</c> (y = W·x) which are transposed once into the canonical <c>[in, out]</c> layout. The file size must
/// equal exactly what the header implies, which catches truncation, a wrong file, or a newer export format.
/// </summary>
/// <remarks>
/// Mapping: rms_att → ln1, rms_ffn → ln2, w1 → W_gate, w3 → W_in, w2 → W_out (MLP = w2(silu(w1 x) ⊙ w3 x)),
/// rms_final → ln_final; RMSNorm eps 1e-5, interleaved RoPE over the full head with base 10000, BOS 1, EOS 2.
/// </remarks>
public static class Llama2cLoader
{
    // llama2.c's versioned exporter starts with this magic ("ak42"); legacy files start with dim instead.
    private const int VersionedMagic = 0x616b3432;

    /// <summary>Reads and validates the header of <paramref name="binPath"/>, including the exact file size.</summary>
    public static Llama2cHeader ReadHeader(string binPath)
    {
        ArgumentNullException.ThrowIfNull(binPath);
        using var stream = new FileStream(binPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        return ReadHeader(stream, binPath);
    }

    /// <summary>Loads a legacy llama2.c checkpoint into the canonical layout.</summary>
    /// <example><code>
    /// LoadedWeights w = Llama2cLoader.Load("models/stories260K/stories260K.bin");
    /// Console.WriteLine(w.Config.DModel);   // 64
    /// </code></example>
    public static LoadedWeights Load(string binPath)
    {
        ArgumentNullException.ThrowIfNull(binPath);
        using var stream = new FileStream(binPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var h = ReadHeader(stream, binPath);

        int d = h.Dim, hs = h.HeadSize, L = h.NLayers, hid = h.HiddenDim, v = h.VocabSize;
        int q = h.NHeads * hs, kv = h.NKvHeads * hs;

        var config = new ModelConfig
        {
            Architecture = Architecture.Llama,
            DModel = d,
            NLayers = L,
            NHeads = h.NHeads,
            NKvHeads = h.NKvHeads,
            DHead = hs,
            DMlp = hid,
            VocabSize = v,
            MaxPositions = h.SeqLen,
            Norm = NormKind.RmsNorm,
            NormEps = 1e-5f,
            Activation = ActivationKind.Silu,
            GatedMlp = true,
            ParallelAttnMlp = false,
            Rotary = RotaryStyle.Interleaved,
            RotaryDims = hs,
            RotaryBase = 10000f,
            LearnedPositions = false,
            TiedEmbeddings = h.SharedClassifier,
            BosTokenId = 1,
            EosTokenId = 2,
        };
        config.Validate(binPath);

        float[] tokenEmbed = ReadNew(stream, (long)v * d, binPath, "token_embedding");
        float[][] rmsAtt = ReadPerLayer(stream, L, d, binPath, "rms_att");
        // Each [out][in] matrix is read into one reused scratch buffer and transposed, so weights are held once.
        int scratchSize = Math.Max(Math.Max(q, kv) * d, hid * d);
        float[] scratch = ArrayPool<float>.Shared.Rent(scratchSize);
        try
        {
            float[][] wq = ReadTransposedPerLayer(stream, L, q, d, scratch, binPath, "wq");
            float[][] wk = ReadTransposedPerLayer(stream, L, kv, d, scratch, binPath, "wk");
            float[][] wv = ReadTransposedPerLayer(stream, L, kv, d, scratch, binPath, "wv");
            float[][] wo = ReadTransposedPerLayer(stream, L, d, q, scratch, binPath, "wo");
            float[][] rmsFfn = ReadPerLayer(stream, L, d, binPath, "rms_ffn");
            float[][] w1 = ReadTransposedPerLayer(stream, L, hid, d, scratch, binPath, "w1");
            float[][] w2 = ReadTransposedPerLayer(stream, L, d, hid, scratch, binPath, "w2");
            float[][] w3 = ReadTransposedPerLayer(stream, L, hid, d, scratch, binPath, "w3");
            float[] rmsFinal = ReadNew(stream, d, binPath, "rms_final");
            stream.Seek(h.RopeTableFloats * sizeof(float), SeekOrigin.Current);
            float[] unembed = h.SharedClassifier ? tokenEmbed : ReadNew(stream, (long)v * d, binPath, "wcls");
            if (stream.Position != stream.Length)
                throw new InvalidDataException($"{binPath}: {stream.Length - stream.Position} bytes left after the last tensor.");

            var layers = new LayerWeights[L];
            for (int l = 0; l < L; l++)
                layers[l] = new LayerWeights
                {
                    Ln1Weight = rmsAtt[l],
                    Ln2Weight = rmsFfn[l],
                    Wq = wq[l],
                    Wk = wk[l],
                    Wv = wv[l],
                    Wo = wo[l],
                    WGate = w1[l],
                    WIn = w3[l],
                    WOut = w2[l],
                };
            var weights = new ModelWeights
            {
                TokenEmbed = tokenEmbed,
                Layers = layers,
                LnFinalWeight = rmsFinal,
                Unembed = unembed,
            };
            WeightChecks.Check(config, weights, binPath);
            return new LoadedWeights(config, weights, [binPath]);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    private static Llama2cHeader ReadHeader(FileStream stream, string path)
    {
        long length = stream.Length;
        if (length < Llama2cHeader.Bytes)
            throw new InvalidDataException($"{path}: file is {length} bytes, too short for the {Llama2cHeader.Bytes}-byte llama2.c header.");
        var raw = new byte[Llama2cHeader.Bytes];
        stream.ReadExactly(raw);
        int I(int i) => BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(4 * i));
        if (I(0) == VersionedMagic)
            throw new InvalidDataException($"{path}: this is a versioned llama2.c export (magic 'ak42', version {I(1)}); " +
                "only the legacy format (export with --version 0 / legacy_export) is supported.");
        var h = new Llama2cHeader(I(0), I(1), I(2), I(3), I(4), I(5), I(6));

        void Require(bool ok, string field, int value, string expected)
        {
            if (!ok)
                throw new InvalidDataException($"{path}: header field '{field}' is {value}, expected {expected} (header: {h}).");
        }
        Require(h.Dim > 0, "dim", h.Dim, "a positive number");
        Require(h.HiddenDim > 0, "hidden_dim", h.HiddenDim, "a positive number");
        Require(h.NLayers > 0, "n_layers", h.NLayers, "a positive number");
        Require(h.NHeads > 0, "n_heads", h.NHeads, "a positive number");
        Require(h.NKvHeads > 0 && h.NKvHeads <= h.NHeads && h.NHeads % h.NKvHeads == 0, "n_kv_heads", h.NKvHeads,
            $"a positive divisor of n_heads={h.NHeads}");
        Require(h.RawVocabSize != 0 && h.RawVocabSize != int.MinValue, "vocab_size", h.RawVocabSize, "a non-zero number");
        Require(h.SeqLen > 0, "seq_len", h.SeqLen, "a positive number");
        Require(h.Dim % h.NHeads == 0, "dim", h.Dim, $"a multiple of n_heads={h.NHeads}");

        long expected;
        try
        {
            expected = h.ExpectedFileBytes;
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{path}: header ({h}) implies more bytes than a file can hold; not a llama2.c checkpoint?");
        }
        if (expected != length)
            throw new InvalidDataException($"{path}: header ({h}, {(h.SharedClassifier ? "shared" : "separate")} classifier) " +
                $"implies {expected} bytes but the file has {length} bytes ({length - expected:+#;-#} bytes).");
        if ((long)h.VocabSize * h.Dim > Array.MaxLength || (long)Math.Max(Math.Max(h.NHeads, h.NKvHeads) * (long)h.HeadSize, h.HiddenDim) * h.Dim > Array.MaxLength)
            throw new InvalidDataException($"{path}: header ({h}) describes a tensor larger than one array can hold.");
        return h;
    }

    private static float[] ReadNew(Stream stream, long count, string path, string what)
    {
        var result = new float[count];
        ReadFloats(stream, result, path, what);
        return result;
    }

    private static float[][] ReadPerLayer(Stream stream, int layers, int count, string path, string what)
    {
        var result = new float[layers][];
        for (int l = 0; l < layers; l++) result[l] = ReadNew(stream, count, path, $"{what}[{l}]");
        return result;
    }

    // Reads [layers][rows][cols] stored row-major and returns each layer transposed to [cols, rows].
    private static float[][] ReadTransposedPerLayer(Stream stream, int layers, int rows, int cols, float[] scratch, string path, string what)
    {
        var result = new float[layers][];
        var src = scratch.AsSpan(0, rows * cols);
        for (int l = 0; l < layers; l++)
        {
            ReadFloats(stream, src, path, $"{what}[{l}]");
            result[l] = new float[rows * cols];
            Layout.Transpose(src, rows, cols, result[l]);
        }
        return result;
    }

    private static void ReadFloats(Stream stream, Span<float> destination, string path, string what)
    {
        try
        {
            // Chunked so the byte view of a huge array never exceeds int.MaxValue bytes.
            for (int start = 0; start < destination.Length; start += 1 << 24)
                stream.ReadExactly(MemoryMarshal.AsBytes(destination.Slice(start, Math.Min(1 << 24, destination.Length - start))));
        }
        catch (EndOfStreamException ex)
        {
            // The size was checked up front, so this only happens if the file changes while loading.
            throw new InvalidDataException($"{path}: file ended while reading '{what}'.", ex);
        }
        if (!BitConverter.IsLittleEndian)
        {
            var ints = MemoryMarshal.Cast<float, int>(destination);
            BinaryPrimitives.ReverseEndianness(ints, ints);
        }
        // A NaN or ±Infinity weight makes every output garbage: refused as it is read (docs/reliability.md).
        if (WeightChecks.NonFinite(destination) is { } problem)
            throw new InvalidDataException($"{path}: '{what}' has {problem}; every weight must be a finite number.");
    }
}
