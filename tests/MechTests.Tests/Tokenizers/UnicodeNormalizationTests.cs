using System.Text;
using System.Text.Json;
using MechTests.Models.Tokenizers;
using Xunit;

namespace MechTests.Tests.Tokenizers;

/// <summary>NFC/NFD against Python's unicodedata.normalize (tests/reference/unicode_normalization_reference.py).</summary>
public class UnicodeNormalizationTests
{
    private sealed record Case(string Text, string Nfc, string Nfd);

    private static readonly Lazy<List<Case>> Cases = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Fixture("tokenizers/unicode_normalization_reference.json")));
        return doc.RootElement.GetProperty("cases").Deserialize<List<Case>>(
            new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
    });

    [Fact]
    public void Matches_python_on_every_reference_string()
    {
        Assert.True(Cases.Value.Count > 400);
        foreach (var c in Cases.Value)
        {
            Assert.True(c.Nfc == UnicodeNormalization.Normalize(c.Text, NormalizationForm.FormC),
                $"NFC of {TokenizerFixtures.Show(c.Text)}: expected {TokenizerFixtures.Show(c.Nfc)}, got {TokenizerFixtures.Show(UnicodeNormalization.Normalize(c.Text, NormalizationForm.FormC))}");
            Assert.True(c.Nfd == UnicodeNormalization.Normalize(c.Text, NormalizationForm.FormD),
                $"NFD of {TokenizerFixtures.Show(c.Text)}");
        }
    }

    [Fact]
    public void Known_cases()
    {
        Assert.Equal("\u00E9", UnicodeNormalization.Normalize("e\u0301", NormalizationForm.FormC));
        Assert.Equal("e\u0301", UnicodeNormalization.Normalize("\u00E9", NormalizationForm.FormD));
        Assert.Equal("\u00C5", UnicodeNormalization.Normalize("\u212B", NormalizationForm.FormC)); // Angstrom sign
        Assert.Equal("\uD55C", UnicodeNormalization.Normalize("\u1112\u1161\u11AB", NormalizationForm.FormC)); // 한
        Assert.Equal("plain", UnicodeNormalization.Normalize("plain", NormalizationForm.FormC));
        Assert.Equal(230, UnicodeNormalization.CombiningClass(0x301));
        Assert.Equal(0, UnicodeNormalization.CombiningClass('a'));
    }
}
