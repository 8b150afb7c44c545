using MechTests.Attribution;
using MechTests.Models.Loading;
using MechTests.Models.Tokenizers;
using MechTests.Tasks;
using MechTests.Tests.Cli;
using MechTests.Tests.Loading;
using Xunit;

namespace MechTests.Tests.Reliability;

/// <summary>
/// Issue 19, defects 7 and 8: task files fell back silently ('metrc', "metric": 5 → logit_diff) or failed without
/// naming file, pair and field (1.5 or 1e20 as a token id, an answer array of numbers); --top-k 0 became 1,
/// --temperature Infinity was accepted, safetensors gaps and empty tokenizer vocabularies loaded.
/// </summary>
public class StrictInputTests
{
    private const string Pair = """{"clean_tokens": [1, 2], "corrupted_tokens": [1, 3], "correct_id": 4, "wrong_id": 5}""";

    [Theory]
    [InlineData($$"""{"metrc": "kl", "pairs": [{{Pair}}]}""", "t.json: unknown field 'metrc'; expected description, metric, name, pairs (docs/tasks.md).")]
    [InlineData($$"""{"metric": 5, "pairs": [{{Pair}}]}""", "t.json: field 'metric' must be a string, found number 5.")]
    [InlineData($$"""{"name": ["x"], "pairs": [{{Pair}}]}""", "t.json: field 'name' must be a string, found array [\"x\"].")]
    [InlineData("""{"pairs": [{"clean_tokens": [1, 1.5], "corrupted_tokens": [1, 3], "correct_id": 4, "wrong_id": 5}]}""", "t.json: pair 0: 'clean_tokens' must hold integer token ids, found number 1.5.")]
    [InlineData("""{"pairs": [{"clean_tokens": [1, 2], "corrupted_tokens": [1, 3], "correct_id": 1e20, "wrong_id": 5}]}""", "t.json: pair 0: 'correct_id' must hold integer token ids, found number 1e20.")]
    [InlineData("""{"pairs": [{"clean_tokens": [1, 2], "corrupted_tokens": [1, 3], "correct": [4], "wrong_id": 5}]}""", "t.json: pair 0: 'correct' must be a string or an array of strings, found number 4 in the array; give ids in 'correct_ids'.")]
    [InlineData("""{"pairs": [{"clean_tokens": [1, 2], "corrupted_tokens": [1, 3], "correct_id": 4, "wrong_id": 5, "wrnog": 6}]}""", "t.json: pair 0: unknown field 'wrnog'; expected clean, clean_tokens, correct, correct_id, correct_ids, corrupted, corrupted_tokens, wrong, wrong_id, wrong_ids (docs/tasks.md).")]
    [InlineData("""{"pairs": [{"clean_tokens": [1, 2], "corrupted_tokens": [1, 3], "correct_id": 4, "correct_ids": [4], "wrong_id": 5}]}""", "t.json: pair 0: give one of 'correct_ids', 'correct_id', not several.")]
    [InlineData("""{"pairs": [{"clean": 7, "corrupted_tokens": [1, 3], "correct_id": 4, "wrong_id": 5}]}""", "t.json: pair 0: 'clean' must be a string, found number 7; give ids in 'clean_tokens'.")]
    [InlineData($$"""{"pairs": [{{Pair}}], "pairs": []}""", "t.json: field 'pairs' is given twice.")]
    public void TaskFileErrorsNameTheFilePairAndField(string json, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => MechTask.Parse(json, null, 512, "t.json"));
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void AValidTaskStillParses()
    {
        var task = MechTask.Parse($$"""{"name": "n", "description": "d", "metric": "prob_diff", "pairs": [{{Pair}}]}""", null, 512, "t.json");
        Assert.Equal(MetricKind.ProbDiff, task.Metric);
        Assert.Equal([1, 2], task.Pairs[0].Clean);
    }

    [Fact]
    public void TopKZeroIsRejectedNotClamped()
    {
        var scores = new Dictionary<string, double> { ["a"] = 1, ["b"] = 2 };
        Assert.Throws<ArgumentOutOfRangeException>(() => AgreementReport.Compute(scores, scores, topK: 0));
        Assert.Equal(1, AgreementReport.Compute(scores, scores, topK: 1).TopK);
    }

    [Theory]
    [InlineData("agreement", "--task", "tasks/name-copy.json", "--method", "atp", "--top-k", "0", "--json", "--top-k must be at least 1, got 0.")]
    [InlineData("generate", "--max-tokens", "3", "--temperature", "Infinity", "--temperature must be a finite number ≥ 0 (0 = greedy), got Infinity.")]
    [InlineData("generate", "--max-tokens", "3", "--temperature", "NaN", "--temperature must be a finite number ≥ 0 (0 = greedy), got NaN.")]
    [InlineData("generate", "--max-tokens", "-1", "--max-tokens must be at least 0, got -1.")]
    public void OutOfRangeOptionsAreUsageErrors(params string[] argsAndMessage)
    {
        var (code, stdout, stderr) = CliRunner.RunClean(null, argsAndMessage[..^1]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"error: {argsAndMessage[^1]}", stderr);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "bytes 0..4 of the data buffer belong to no tensor (before 'a'); the format allows no gaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "bytes 4..8 of the data buffer belong to no tensor (before 'b'); the format allows no gaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 6, "bytes 4..6 at the end of the data buffer belong to no tensor; the format allows no gaps")]
    public void GapsInASafetensorsDataBufferAreRejected(string header, int dataBytes, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File("x.safetensors");
        LoadingTestSupport.WriteRawSafeTensors(path, header, new byte[dataBytes]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Equal($"{path}: {expected}", e.Message);
    }

    [Fact]
    public void AnEmptyTokenizerVocabularyIsRejectedNamingTheFile()
    {
        using var dir = new TempDir();
        string json = dir.File("tokenizer.json");
        File.WriteAllText(json, """{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}""");
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromTokenizerJson(json));
        Assert.Equal($"{json}: the vocabulary is empty; a tokenizer needs at least one token.", e.Message);

        string bin = dir.File("tok0.bin");
        File.WriteAllBytes(bin, BitConverter.GetBytes(16)); // max_token_length and no tokens
        var b = Assert.Throws<InvalidDataException>(() => Llama2cTokenizer.Load(bin));
        Assert.Equal($"{bin}: the vocabulary is empty; a tokenizer needs at least one token.", b.Message);
    }
}
