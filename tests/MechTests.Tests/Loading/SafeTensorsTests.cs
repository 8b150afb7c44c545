using System.Buffers.Binary;
using MechTests.Models.Loading;
using Xunit;
using static MechTests.Tests.Loading.LoadingTestSupport;

namespace MechTests.Tests.Loading;

public class SafeTensorsTests
{
    private static InvalidDataException OpenFails(string path)
    {
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains(path, ex.Message);
        return ex;
    }

    [Fact]
    public void F32_round_trip_with_metadata_and_shape_checks()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        float[] a = Pattern(1, 6);
        float[] b = Pattern(2, 4);
        new SafeTensorsWriter().Add("b", b, [4]).Add("a", a, [2, 3]).SetMetadata("format", "pt").Write(path);

        using var st = SafeTensorsFile.Open(path);
        Assert.Equal("pt", st.Metadata["format"]);
        Assert.Equal(["a", "b"], st.Names);
        Assert.Equal(a, st.GetTensor("a", 2, 3));
        Assert.Equal(b, st.GetTensor("b"));
        Assert.Equal(0, st.DataStart % 8);

        var part = new float[2];
        st.ReadRange(st.Info("a"), 3, part);
        Assert.Equal(a[3..5], part);
    }

    [Fact]
    public void Writer_is_deterministic_whatever_the_insertion_order()
    {
        using var dir = new TempDir();
        float[] x = Pattern(3, 5), y = Pattern(4, 3);
        new SafeTensorsWriter().Add("x", x, [5], SafeTensorsDType.BF16).Add("y", y, [3]).SetMetadata("k", "v").Write(dir.File("1.safetensors"));
        new SafeTensorsWriter().SetMetadata("k", "v").Add("y", y, [3]).Add("x", x, [5], SafeTensorsDType.BF16).Write(dir.File("2.safetensors"));
        Assert.Equal(File.ReadAllBytes(dir.File("1.safetensors")), File.ReadAllBytes(dir.File("2.safetensors")));
    }

    [Fact]
    public void F16_is_written_with_the_IEEE_bit_patterns_and_read_back_exactly()
    {
        using var dir = new TempDir();
        string path = dir.File("h.safetensors");
        float[] values = [1f, -2f, 65504f, 0.5f, 1f / 3f, 0f];
        new SafeTensorsWriter().Add("h", values, [6], SafeTensorsDType.F16).Write(path);

        byte[] bytes = File.ReadAllBytes(path);
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ushort At(int i) => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)dataStart + 2 * i));
        Assert.Equal(0x3C00, At(0));
        Assert.Equal(0xC000, At(1));
        Assert.Equal(0x7BFF, At(2));
        Assert.Equal(0x3800, At(3));
        Assert.Equal(0x3555, At(4)); // 1/3 rounded to binary16
        Assert.Equal(0x0000, At(5));

        using var st = SafeTensorsFile.Open(path);
        Assert.Equal(SafeTensorsDType.F16, st.Info("h").DType);
        Assert.Equal([1f, -2f, 65504f, 0.5f, 0.333251953125f, 0f], st.GetTensor("h", 6));
    }

    [Fact]
    public void BF16_is_the_top_half_of_binary32_rounded_to_nearest_even()
    {
        using var dir = new TempDir();
        string path = dir.File("b.safetensors");
        // 1+2^-8 is a tie that rounds down to even (0x3F80); 1+3·2^-8 is a tie that rounds up to even (0x3F82).
        float[] values = [1f, -2f, 3.140625f, 1.00390625f, 1.01171875f, float.PositiveInfinity, float.NaN];
        new SafeTensorsWriter().Add("b", values, [7], SafeTensorsDType.BF16).Write(path);

        byte[] bytes = File.ReadAllBytes(path);
        int dataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ushort At(int i) => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(dataStart + 2 * i));
        Assert.Equal(0x3F80, At(0));
        Assert.Equal(0xC000, At(1));
        Assert.Equal(0x4049, At(2));
        Assert.Equal(0x3F80, At(3));
        Assert.Equal(0x3F82, At(4));
        Assert.Equal(0x7F80, At(5));

        using var st = SafeTensorsFile.Open(path);
        float[] back = st.GetTensor("b", 7);
        Assert.Equal([1f, -2f, 3.140625f, 1f, 1.015625f, float.PositiveInfinity], back[..6]);
        Assert.True(float.IsNaN(back[6]));
    }

    [Fact]
    public void Hand_written_half_and_bfloat_bits_decode_independently_of_the_writer()
    {
        using var dir = new TempDir();
        string path = dir.File("raw.safetensors");
        // F16 [0x3C00, 0xC000] then BF16 [0x3F80, 0xC0A0 (-5.0)], little-endian.
        byte[] data = [0x00, 0x3C, 0x00, 0xC0, 0x80, 0x3F, 0xA0, 0xC0];
        WriteRawSafeTensors(path,
            """{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}""", data);
        using var st = SafeTensorsFile.Open(path);
        Assert.Equal([1f, -2f], st.GetTensor("h", 2));
        Assert.Equal([1f, -5f], st.GetTensor("b", 2));
    }

    [Fact]
    public void Integer_tensors_round_trip()
    {
        using var dir = new TempDir();
        string path = dir.File("i.safetensors");
        new SafeTensorsWriter()
            .AddInt32("ids", [1, -2, int.MaxValue], [3])
            .AddInt64("pos", [long.MinValue, 5, 6, 7], [2, 2])
            .Write(path);
        using var st = SafeTensorsFile.Open(path);
        Assert.Equal([1, -2, int.MaxValue], st.GetInt32("ids", [3]));
        Assert.Equal([long.MinValue, 5, 6, 7], st.GetInt64("pos", [2, 2]));
        var ex = Assert.Throws<InvalidDataException>(() => st.GetTensor("ids"));
        Assert.Contains("'ids' has dtype I32, expected a float dtype", ex.Message);
        ex = Assert.Throws<InvalidDataException>(() => st.GetInt64("ids"));
        Assert.Contains("'ids' has dtype I32, expected I64", ex.Message);
    }

    [Fact]
    public void Missing_tensor_and_wrong_shape_name_file_tensor_and_both_shapes()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        new SafeTensorsWriter().Add("transformer.h.0.attn.c_attn.weight", new float[64 * 96], [64, 96]).Write(path);
        using var st = SafeTensorsFile.Open(path);

        var ex = Assert.Throws<InvalidDataException>(() => st.GetTensor("transformer.h.0.attn.c_attn.weight", 32, 96));
        Assert.Equal($"{path}: tensor 'transformer.h.0.attn.c_attn.weight' has shape [64, 96], expected [32, 96]", ex.Message);

        ex = Assert.Throws<InvalidDataException>(() => st.Expect("lm_head.weight", 10, 64));
        Assert.Equal($"{path}: tensor 'lm_head.weight' is missing", ex.Message);
    }

    [Fact]
    public void File_shorter_than_the_length_prefix_fails()
    {
        using var dir = new TempDir();
        string path = dir.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", OpenFails(path).Message);
    }

    [Fact]
    public void Header_length_beyond_the_file_fails()
    {
        using var dir = new TempDir();
        string path = dir.File("m.safetensors");
        WriteRawSafeTensors(path, "{}", new byte[10], headerLength: 1000);
        var msg = OpenFails(path).Message;
        Assert.Contains("header length 1000 bytes runs past the end of the file (20 bytes", msg);
    }

    [Fact]
    public void Absurd_header_length_fails_before_allocating()
    {
        using var dir = new TempDir();
        string path = dir.File("m.safetensors");
        WriteRawSafeTensors(path, "{}", [], headerLength: 1UL << 40);
        Assert.Contains($"header length {1UL << 40} bytes exceeds", OpenFails(path).Message);
    }

    [Fact]
    public void Malformed_json_fails()
    {
        using var dir = new TempDir();
        string path = dir.File("m.safetensors");
        WriteRawSafeTensors(path, """{"a": {"dtype": "F32", """, []);
        Assert.Contains("header is not valid JSON", OpenFails(path).Message);
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}""", "tensor 'w' has unsupported dtype 'F99'")]
    [InlineData("""{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}""", "tensor 'w' has unsupported dtype 'f32'")]
    [InlineData("""{"w":{"shape":[1],"data_offsets":[0,4]}}""", "tensor 'w' has no 'dtype' string")]
    [InlineData("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", "tensor 'w' has shape [-1], expected non-negative integers")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", "tensor 'w' has shape [1.5], expected non-negative integers")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", "tensor 'w' has no 'data_offsets' [begin, end] pair")]
    [InlineData("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,400]}}""", "tensor 'w' has data_offsets [0, 400] past the end of the 16-byte data buffer")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", "tensor 'w' has data_offsets [8, 4] with begin after end")]
    [InlineData("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}""", "tensor 'w' has 16 bytes (data_offsets [0, 16]), expected 12 for shape [3] of F32")]
    [InlineData("""{"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,16]}}""", "tensor 'w' has 16 bytes (data_offsets [0, 16]), expected 8 for shape [2, 2] of BF16")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", "tensors 'a' (bytes 0..8) and 'b' (bytes 4..12) overlap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", "tensors 'a' (bytes 0..16) and 'b' (bytes 8..12) overlap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "tensor 'a' appears twice")]
    [InlineData("""{"__metadata__":{"n":1}}""", "'__metadata__' key 'n' must be a string")]
    [InlineData("""[1,2]""", "header must be a JSON object")]
    [InlineData("""{"w":[1]}""", "tensor 'w' header entry must be an object")]
    public void Header_violations_name_the_file_tensor_and_problem(string header, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.safetensors");
        WriteRawSafeTensors(path, header, new byte[16]);
        Assert.Contains(expected, OpenFails(path).Message);
    }

    [Fact]
    public void Known_but_unreadable_dtypes_validate_and_refuse_float_reads()
    {
        // Real checkpoints carry BOOL mask buffers; the header must still validate.
        using var dir = new TempDir();
        string path = dir.File("m.safetensors");
        WriteRawSafeTensors(path, """{"mask":{"dtype":"BOOL","shape":[2,2],"data_offsets":[0,4]},"s":{"dtype":"F64","shape":[],"data_offsets":[4,12]}}""",
            [1, 0, 1, 1, .. BitConverter.GetBytes(2.5)]); // no padding: the format allows no gaps in the data buffer
        using var st = SafeTensorsFile.Open(path);
        Assert.Equal([2.5f], st.GetTensor("s", []));
        var ex = Assert.Throws<InvalidDataException>(() => st.GetTensor("mask"));
        Assert.Contains("tensor 'mask' has dtype BOOL, expected a float dtype", ex.Message);
    }
}
