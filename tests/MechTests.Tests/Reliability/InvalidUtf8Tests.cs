using System.Text;
using MechTests.Circuits;
using MechTests.Models.Loading;
using MechTests.Models.Tokenizers;
using MechTests.Tasks;
using MechTests.Tests.Loading;
using Xunit;

namespace MechTests.Tests.Reliability;

/// <summary>
/// Issue 19, defect 3: invalid UTF-8 in a JSON file or safetensors header gave "Cannot transcode invalid UTF-8 JSON
/// text to UTF-16 string." naming no file (task files were silently decoded with U+FFFD). Every reader now names the
/// file and where the bad byte is.
/// </summary>
public class InvalidUtf8Tests
{
    // "\xC3\x28": a two-byte lead followed by an ASCII byte — the smallest invalid sequence.
    private static byte[] WithBadByte(string text, string marker)
    {
        var bytes = Encoding.UTF8.GetBytes(text).ToList();
        int at = Encoding.UTF8.GetBytes(text[..text.IndexOf(marker, StringComparison.Ordinal)]).Length;
        bytes.RemoveRange(at, Encoding.UTF8.GetByteCount(marker));
        bytes.InsertRange(at, [0xC3, 0x28]);
        return bytes.ToArray();
    }

    [Fact]
    public void ACircuitFileIsALocatedInvalidJsonError()
    {
        using var dir = new TempDir();
        string path = dir.File("c.json");
        File.WriteAllBytes(path, WithBadByte(GraphShapeLimitTests.CircuitJson(2, 2), "manual"));
        var e = Assert.Throws<CircuitFormatException>(() => CircuitFile.Read(path));
        Assert.Equal(CircuitFormatException.InvalidJsonCode, e.Code);
        Assert.Equal((3, 23), (e.Line, e.Column)); // the line of "method", after {"name": "
        Assert.Equal($"{path}(3,23): not valid UTF-8 here; save the file as UTF-8.", e.Message);
    }

    [Fact]
    public void AConfigJsonNamesTheFileAndTheByte()
    {
        using var dir = new TempDir();
        foreach (var f in Directory.GetFiles(TestPaths.Fixture("reference/gpt2"))) File.Copy(f, dir.File(Path.GetFileName(f)));
        string config = File.ReadAllText(dir.File("config.json"));
        File.WriteAllBytes(dir.File("config.json"), WithBadByte(config, "gpt2"));
        int offset = Encoding.UTF8.GetByteCount(config[..config.IndexOf("gpt2", StringComparison.Ordinal)]);
        var e = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(dir.Path));
        Assert.StartsWith($"{dir.File("config.json")}: not valid UTF-8 at byte {offset} (line ", e.Message);
    }

    [Fact]
    public void ASafetensorsHeaderNamesTheFileAndTheByte()
    {
        using var dir = new TempDir();
        string path = dir.File("x.safetensors");
        // {"a\xC3(": ...}: the bad pair is at header offset 2, file offset 10.
        LoadingTestSupport.WriteRawSafeTensors(path, "{\"aXY\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        var bytes = File.ReadAllBytes(path);
        bytes[10] = 0xC3;
        bytes[11] = 0x28;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Equal($"{path}: the header is not valid UTF-8 at byte 10 (line 1, column 3); save it as UTF-8.", e.Message);
    }

    [Fact]
    public void ATaskFileAndATokenizerJsonNameTheFile()
    {
        using var dir = new TempDir();
        string task = dir.File("t.json");
        File.WriteAllBytes(task, WithBadByte("{\"metric\": \"logit_diff\", \"pairs\": []}", "logit"));
        var e = Assert.Throws<InvalidDataException>(() => MechTask.Load(task, null, 512));
        Assert.StartsWith($"{task}: not valid UTF-8 at byte 12 (line 1, column 13)", e.Message);

        string tok = dir.File("tokenizer.json");
        File.WriteAllBytes(tok, WithBadByte("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "BPE"));
        var t = Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromTokenizerJson(tok));
        Assert.Contains($"{tok}: not valid UTF-8 at byte", t.Message);
    }
}
