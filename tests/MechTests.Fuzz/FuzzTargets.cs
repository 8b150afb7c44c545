using MechTests.Circuits;
using MechTests.Models.Loading;
using MechTests.Models.Tokenizers;
using MechTests.Tasks;

namespace MechTests.Fuzz;

/// <summary>
/// One reader of outside input under test: the seed inputs it starts from, the file name an input is written to (in a
/// folder that also holds <see cref="Companions"/>), and what reading means (load, then use the result a little).
/// </summary>
/// <param name="Name">Target name, also the corpus sub-folder.</param>
/// <param name="FileName">The name the input is written under.</param>
/// <param name="Json">Whether JSON-aware mutations apply.</param>
/// <param name="HeaderBytes">Where mutations concentrate (0: anywhere).</param>
/// <param name="Seeds">Valid inputs to mutate.</param>
/// <param name="Companions">Other files the reader needs beside the input (name → bytes), written once.</param>
/// <param name="Read">Reads the input at the path given (a folder-level reader takes the folder from it).</param>
/// <param name="FolderLevel">Whether errors may name the folder instead of the file (model folders).</param>
public sealed record FuzzTarget(string Name, string FileName, bool Json, int HeaderBytes, IReadOnlyList<byte[]> Seeds,
    IReadOnlyDictionary<string, byte[]> Companions, Action<string> Read, bool FolderLevel = false);

/// <summary>Every reader of outside input MechTests has, with seeds from the repository.</summary>
public static class FuzzTargets
{
    /// <summary>The repository root (the folder holding MechTests.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MechTests.sln"))) return dir.FullName;
        throw new InvalidOperationException($"MechTests.sln not found above {AppContext.BaseDirectory}.");
    }

    private static string Repo(params string[] parts) => Path.Combine([RepoRoot, .. parts]);

    private static string Fixture(string family, string file) => Repo("tests", "MechTests.Tests", "Fixtures", "reference", family, file);

    private static byte[] Bytes(string path) => File.ReadAllBytes(path);

    private static Dictionary<string, byte[]> FolderExcept(string folder, string except) => Directory.GetFiles(folder)
        .Where(f => Path.GetFileName(f) != except && !Path.GetFileName(f).StartsWith("reference", StringComparison.Ordinal))
        .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    private static readonly Lazy<ITokenizer> Stories = new(() => Llama2cTokenizer.Load(Repo("models", "stories260K", "tok512.bin")));

    /// <summary>All targets, in a fixed order.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } = Create();

    private static List<FuzzTarget> Create()
    {
        string circuits = Repo("circuits");
        var circuitSeeds = Directory.GetFiles(circuits, "*.json").Order(StringComparer.Ordinal).Select(Bytes).ToList();
        var mibSeed = System.Text.Encoding.UTF8.GetBytes(MibGraphJson.Export(CircuitFile.Read(Path.Combine(circuits, "name-copy.json")).Circuit));
        var configSeeds = new[] { "gpt2", "gpt2-f16", "gpt_neox", "llama" }.Select(f => Bytes(Fixture(f, "config.json"))).ToList();
        return
        [
            new("safetensors", "model.safetensors", false, 1024,
                [Bytes(Fixture("gpt2", "model.safetensors")), Bytes(Fixture("gpt2-bf16", "model.safetensors")), Bytes(Fixture("llama", "model.safetensors"))],
                new Dictionary<string, byte[]>(), path =>
                {
                    using var st = SafeTensorsFile.Open(path);
                    foreach (var t in st.Tensors)
                        if (t.DType.IsFloat()) _ = st.GetTensor(t.Name);
                }),
            new("config.json", "config.json", true, 0, configSeeds, new Dictionary<string, byte[]>(), path => HuggingFaceLoader.ReadConfig(path)),
            new("hf-model", "model.safetensors", false, 2048, [Bytes(Fixture("llama", "model.safetensors"))],
                FolderExcept(Path.GetDirectoryName(Fixture("llama", "config.json"))!, "model.safetensors"),
                path => ModelLoader.Load(Path.GetDirectoryName(path)!), FolderLevel: true),
            new("tokenizer.json", "tokenizer.json", true, 0, [Bytes(Fixture("llama", "tokenizer.json")), Bytes(Fixture("gpt_neox", "tokenizer.json"))],
                new Dictionary<string, byte[]>(), path =>
                {
                    var tok = TokenizerLoader.FromTokenizerJson(path);
                    var ids = tok.Encode("Once upon a time, Lily said: \"héllo\" 123!", tok.AddsBosByDefault);
                    _ = tok.Decode(ids);
                }),
            new("gpt2-vocab", "vocab.json", true, 0, [Bytes(Fixture("gpt2", "vocab.json"))],
                new Dictionary<string, byte[]> { ["merges.txt"] = Bytes(Fixture("gpt2", "merges.txt")) }, path =>
                {
                    var tok = ByteLevelBpeTokenizer.FromVocabAndMerges(path, Path.Combine(Path.GetDirectoryName(path)!, "merges.txt"));
                    _ = tok.Decode(tok.Encode("Once upon a time, Lily", false));
                }),
            new("llama2c", "model.bin", false, 64, [Bytes(Repo("models", "stories260K", "stories260K.bin"))],
                new Dictionary<string, byte[]>(), path => Llama2cLoader.Load(path)),
            new("tok512.bin", "tok512.bin", false, 256, [Bytes(Repo("models", "stories260K", "tok512.bin"))],
                new Dictionary<string, byte[]>(), path =>
                {
                    var tok = Llama2cTokenizer.Load(path);
                    _ = tok.Decode(tok.Encode("Once upon a time, Lily", true));
                }),
            new("task", "task.json", true, 0, [Bytes(Repo("tasks", "name-copy.json")), Bytes(Repo("tasks", "pronoun.json"))],
                new Dictionary<string, byte[]>(), path => MechTask.Load(path, Stories.Value, 512)),
            new("circuit", "circuit.json", true, 0, circuitSeeds, new Dictionary<string, byte[]>(), path => CircuitFile.Read(path)),
            new("mib-graph", "graph.json", true, 0, [mibSeed], new Dictionary<string, byte[]>(), path => MibGraphJson.Read(path)),
        ];
    }
}
