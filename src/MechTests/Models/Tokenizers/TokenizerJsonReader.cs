using System.Text;
using System.Text.Json;
using static MechTests.Models.Tokenizers.JsonFiles;

namespace MechTests.Models.Tokenizers;

/// <summary>What a Hugging Face <c>tokenizer.json</c> describes, ready to build a tokenizer from.</summary>
internal sealed class TokenizerJsonDefinition
{
    public required string Path { get; init; }
    public required HfTokenizerCore Core { get; init; }
    /// <summary>GPT-2 style byte-level BPE (else SentencePiece style).</summary>
    public required bool IsByteLevel { get; init; }
    /// <summary>SentencePiece: a "▁" is put before the text (so decoding drops the first space after BOS).</summary>
    public required bool AddsDummyPrefix { get; init; }
    /// <summary>SentencePiece: the character that stands for a space.</summary>
    public required char SpaceReplacement { get; init; }
    /// <summary>BOS the post-processor adds in front of a single sequence, if any.</summary>
    public int? TemplateBos { get; init; }
    /// <summary>EOS the post-processor adds after a single sequence, if any.</summary>
    public int? TemplateEos { get; init; }
    /// <summary>Whether a post-processor was found that says if BOS is added.</summary>
    public bool? TemplateAddsBos { get; init; }
}

/// <summary>
/// Reads Hugging Face <c>tokenizer.json</c> files with a BPE model. Supported: normalizers Sequence, NFC, NFD, NFKC,
/// NFKD, Lowercase, Prepend, Replace, Strip; pre-tokenizers Sequence, ByteLevel, Split, Metaspace; post-processors
/// TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence (only for BOS/EOS). Anything else is
/// rejected with an <see cref="InvalidDataException"/> naming the file and the field.
/// </summary>
internal static class TokenizerJsonReader
{
    public static TokenizerJsonDefinition Read(string path)
    {
        using JsonDocument doc = Parse(path);
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: expected a JSON object at the top level.");

        JsonElement model = Require(path, root, "model", "", JsonValueKind.Object);
        string? type = OptionalString(path, model, "type", "model");
        // Old files have no model.type; a merges list then identifies BPE.
        if (type is null && Optional(model, "merges") is null)
            throw new InvalidDataException($"{path}: model.type is missing; expected 'BPE'.");
        if (type is not null && type != "BPE")
            throw new InvalidDataException($"{path}: model.type '{type}' is not supported; expected 'BPE'.");
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            string? value = OptionalString(path, model, affix, "model");
            if (!string.IsNullOrEmpty(value))
                throw new InvalidDataException($"{path}: model.{affix} '{value}' is not supported; expected null.");
        }

        var vocab = ReadVocab(path, Require(path, model, "vocab", "model", JsonValueKind.Object), "model.vocab");
        var merges = ReadMerges(path, model);
        var normalizer = new List<NormalizerStep>();
        if (Optional(root, "normalizer") is { } n) ReadNormalizer(path, n, "normalizer", normalizer);
        var preTokenizers = new List<PreTokenizerStep>();
        if (Optional(root, "pre_tokenizer") is { } p) ReadPreTokenizer(path, p, "pre_tokenizer", preTokenizers);
        int byteLevelAt = preTokenizers.FindIndex(s => s is ByteLevelStep);
        if (byteLevelAt >= 0 && byteLevelAt != preTokenizers.Count - 1)
            throw new InvalidDataException($"{path}: pre_tokenizer: ByteLevel must be the last step of the sequence.");
        bool byteLevel = byteLevelAt >= 0;

        bool byteFallback = OptionalBool(path, model, "byte_fallback", "model") ?? false;
        MetaspaceStep? metaspace = preTokenizers.OfType<MetaspaceStep>().FirstOrDefault();
        bool prependNormalizer = normalizer.Any(s => s.AddsDummyPrefix);
        bool sentencePiece = !byteLevel && (byteFallback || metaspace is not null || prependNormalizer
            || normalizer.OfType<ReplaceStep>().Any());
        if (!byteLevel && !sentencePiece)
            throw new InvalidDataException($"{path}: a BPE model needs a ByteLevel pre_tokenizer (GPT-2 style) or SentencePiece-style "
                + "handling (Metaspace pre_tokenizer, '▁' normalizer or byte_fallback); this file has neither.");

        var options = new BpeOptions
        {
            ByteLevel = byteLevel,
            UnkToken = OptionalString(path, model, "unk_token", "model"),
            FuseUnk = OptionalBool(path, model, "fuse_unk", "model") ?? false,
            ByteFallback = byteFallback,
            IgnoreMerges = OptionalBool(path, model, "ignore_merges", "model") ?? false,
        };
        BpeModel bpe = BpeModel.Create(path, vocab, merges, options);
        var added = ReadAddedTokens(path, root);
        var core = new HfTokenizerCore(bpe, added, normalizer, preTokenizers);

        var template = new TemplateInfo();
        if (Optional(root, "post_processor") is { } post) ReadPostProcessor(path, post, "post_processor", core, template);

        return new TokenizerJsonDefinition
        {
            Path = path,
            Core = core,
            IsByteLevel = byteLevel,
            AddsDummyPrefix = prependNormalizer || (metaspace is not null && metaspace.Scheme != PrependScheme.Never),
            SpaceReplacement = metaspace?.Replacement ?? '▁',
            TemplateBos = template.Bos,
            TemplateEos = template.Eos,
            TemplateAddsBos = template.AddsBos,
        };
    }

    private static List<MergeEntry> ReadMerges(string path, JsonElement model)
    {
        var list = new List<MergeEntry>();
        if (Optional(model, "merges") is not { } merges) return list;
        if (merges.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: model.merges must be an array of \"a b\" strings or [a, b] pairs.");
        int i = 0;
        foreach (JsonElement m in merges.EnumerateArray())
        {
            string where = $"model.merges[{i++}]";
            if (m.ValueKind == JsonValueKind.String)
            {
                string line = m.GetString()!;
                int space = line.IndexOf(' ');
                if (space < 0 || line.IndexOf(' ', space + 1) >= 0)
                    throw new InvalidDataException($"{path}: {where} '{BpeModel.Show(line)}' must be two tokens separated by one space.");
                list.Add(new MergeEntry(line[..space], line[(space + 1)..], where));
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                     && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
            {
                list.Add(new MergeEntry(m[0].GetString()!, m[1].GetString()!, where));
            }
            else
            {
                throw new InvalidDataException($"{path}: {where} must be a \"a b\" string or a [\"a\", \"b\"] pair.");
            }
        }
        return list;
    }

    private static List<AddedToken> ReadAddedTokens(string path, JsonElement root)
    {
        var list = new List<AddedToken>();
        if (Optional(root, "added_tokens") is not { } added) return list;
        if (added.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: added_tokens must be an array.");
        int i = 0;
        foreach (JsonElement t in added.EnumerateArray())
        {
            string where = $"added_tokens[{i++}]";
            if (t.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: {where} must be an object with id and content.");
            int id = Int(path, Require(path, t, "id", where, JsonValueKind.Number), $"{where}.id");
            string content = Require(path, t, "content", where, JsonValueKind.String).GetString()!;
            list.Add(new AddedToken(id, content,
                Special: OptionalBool(path, t, "special", where) ?? false,
                SingleWord: OptionalBool(path, t, "single_word", where) ?? false,
                LStrip: OptionalBool(path, t, "lstrip", where) ?? false,
                RStrip: OptionalBool(path, t, "rstrip", where) ?? false,
                Normalized: OptionalBool(path, t, "normalized", where) ?? false));
        }
        return list;
    }

    private static string TypeOf(string path, JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: {where} must be an object with a \"type\".");
        return Require(path, e, "type", where, JsonValueKind.String).GetString()!;
    }

    private static (string? Literal, CodePointRegex? Regex) ReadPattern(string path, JsonElement owner, string where)
    {
        JsonElement pattern = Require(path, owner, "pattern", where, JsonValueKind.Object);
        if (OptionalString(path, pattern, "String", $"{where}.pattern") is { } literal) return (literal, null);
        if (OptionalString(path, pattern, "Regex", $"{where}.pattern") is { } regex)
        {
            try
            {
                return (null, CodePointRegex.Get(regex));
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"{path}: {where}.pattern.Regex '{regex}' is not supported by .NET regex ({ex.Message}).", ex);
            }
        }
        throw new InvalidDataException($"{path}: {where}.pattern must have a \"String\" or a \"Regex\".");
    }

    private static void ReadNormalizer(string path, JsonElement e, string where, List<NormalizerStep> steps)
    {
        string type = TypeOf(path, e, where);
        switch (type)
        {
            case "Sequence":
            {
                int i = 0;
                foreach (JsonElement child in Require(path, e, "normalizers", where, JsonValueKind.Array).EnumerateArray())
                    ReadNormalizer(path, child, $"{where}.normalizers[{i++}]", steps);
                break;
            }
            case "NFC": steps.Add(new UnicodeFormStep(NormalizationForm.FormC)); break;
            case "NFD": steps.Add(new UnicodeFormStep(NormalizationForm.FormD)); break;
            case "NFKC" or "NFKD":
            {
                var form = type == "NFKC" ? NormalizationForm.FormKC : NormalizationForm.FormKD;
                if (!UnicodeNormalization.IsSupported(form))
                    throw new NotSupportedException($"{path}: {where} is {type}, which needs the runtime's Unicode "
                        + "normalization data; this process runs in invariant-globalization mode.");
                steps.Add(new UnicodeFormStep(form));
                break;
            }
            case "Lowercase": steps.Add(new LowercaseStep()); break;
            case "Prepend":
                steps.Add(new PrependStep(Require(path, e, "prepend", where, JsonValueKind.String).GetString()!));
                break;
            case "Replace":
            {
                var (literal, regex) = ReadPattern(path, e, where);
                string content = Require(path, e, "content", where, JsonValueKind.String).GetString()!;
                steps.Add(new ReplaceStep(literal, regex, content));
                break;
            }
            case "Strip":
                steps.Add(new StripStep(OptionalBool(path, e, "strip_left", where) ?? true,
                    OptionalBool(path, e, "strip_right", where) ?? true));
                break;
            default:
                throw new InvalidDataException($"{path}: {where}.type '{type}' is not supported; expected one of "
                    + "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip.");
        }
    }

    private static void ReadPreTokenizer(string path, JsonElement e, string where, List<PreTokenizerStep> steps)
    {
        string type = TypeOf(path, e, where);
        switch (type)
        {
            case "Sequence":
            {
                int i = 0;
                foreach (JsonElement child in Require(path, e, "pretokenizers", where, JsonValueKind.Array).EnumerateArray())
                    ReadPreTokenizer(path, child, $"{where}.pretokenizers[{i++}]", steps);
                break;
            }
            case "ByteLevel":
                // Hugging Face's defaults: add_prefix_space true, use_regex true.
                steps.Add(new ByteLevelStep(OptionalBool(path, e, "add_prefix_space", where) ?? true,
                    OptionalBool(path, e, "use_regex", where) ?? true));
                break;
            case "Split":
            {
                var (literal, regex) = ReadPattern(path, e, where);
                regex ??= CodePointRegex.Get(System.Text.RegularExpressions.Regex.Escape(literal!));
                string behavior = Require(path, e, "behavior", where, JsonValueKind.String).GetString()!;
                if (!Enum.TryParse(behavior, ignoreCase: false, out SplitBehavior b) || !Enum.IsDefined(b))
                    throw new InvalidDataException($"{path}: {where}.behavior '{behavior}' is not one of "
                        + string.Join(", ", Enum.GetNames<SplitBehavior>()) + ".");
                steps.Add(new RegexSplitStep(regex, b, OptionalBool(path, e, "invert", where) ?? false));
                break;
            }
            case "Metaspace":
            {
                string replacement = OptionalString(path, e, "replacement", where) ?? "▁";
                if (replacement.Length != 1)
                    throw new InvalidDataException($"{path}: {where}.replacement '{replacement}' must be one character.");
                string? schemeText = OptionalString(path, e, "prepend_scheme", where);
                PrependScheme scheme = schemeText switch
                {
                    null => OptionalBool(path, e, "add_prefix_space", where) ?? true ? PrependScheme.Always : PrependScheme.Never,
                    "always" => PrependScheme.Always,
                    "first" => PrependScheme.First,
                    "never" => PrependScheme.Never,
                    _ => throw new InvalidDataException($"{path}: {where}.prepend_scheme '{schemeText}' is not one of always, first, never."),
                };
                steps.Add(new MetaspaceStep(replacement[0], scheme, OptionalBool(path, e, "split", where) ?? true));
                break;
            }
            default:
                throw new InvalidDataException($"{path}: {where}.type '{type}' is not supported; expected one of "
                    + "Sequence, ByteLevel, Split, Metaspace.");
        }
    }

    private sealed class TemplateInfo
    {
        public int? Bos;
        public int? Eos;
        public bool? AddsBos;
    }

    private static void ReadPostProcessor(string path, JsonElement e, string where, HfTokenizerCore core, TemplateInfo info)
    {
        string type = TypeOf(path, e, where);
        switch (type)
        {
            case "Sequence":
            {
                int i = 0;
                foreach (JsonElement child in Require(path, e, "processors", where, JsonValueKind.Array).EnumerateArray())
                    ReadPostProcessor(path, child, $"{where}.processors[{i++}]", core, info);
                break;
            }
            case "TemplateProcessing":
                ReadTemplate(path, e, where, core, info);
                break;
            case "RobertaProcessing":
            case "BertProcessing":
            {
                info.Bos = PairId(path, e, "cls", where, core);
                info.Eos = PairId(path, e, "sep", where, core);
                info.AddsBos = true;
                break;
            }
            default:
                // ByteLevel (offsets only) and other processors do not add tokens in front of the text.
                break;
        }
    }

    private static int PairId(string path, JsonElement e, string name, string where, HfTokenizerCore core)
    {
        JsonElement pair = Require(path, e, name, where, JsonValueKind.Array);
        if (pair.GetArrayLength() != 2)
            throw new InvalidDataException($"{path}: {where}.{name} must be a [token, id] pair.");
        int id = Int(path, pair[1], $"{where}.{name}[1]");
        if (id >= core.VocabSize)
            throw new InvalidDataException($"{path}: {where}.{name} id {id} is out of range (vocabulary size {core.VocabSize}).");
        return id;
    }

    private static void ReadTemplate(string path, JsonElement e, string where, HfTokenizerCore core, TemplateInfo info)
    {
        JsonElement single = Require(path, e, "single", where, JsonValueKind.Array);
        JsonElement? specials = Optional(e, "special_tokens");
        bool seenSequence = false;
        bool bosFound = false;
        int i = 0;
        foreach (JsonElement item in single.EnumerateArray())
        {
            string itemWhere = $"{where}.single[{i++}]";
            if (Optional(item, "Sequence") is not null) { seenSequence = true; continue; }
            if (Optional(item, "SpecialToken") is not { } special)
                throw new InvalidDataException($"{path}: {itemWhere} must be a SpecialToken or a Sequence.");
            string name = Require(path, special, "id", $"{itemWhere}.SpecialToken", JsonValueKind.String).GetString()!;
            int id = SpecialId(path, specials, name, itemWhere, core);
            if (!seenSequence && !bosFound) { info.Bos = id; bosFound = true; }
            else if (seenSequence && info.Eos is null) info.Eos = id;
        }
        info.AddsBos = bosFound;
    }

    private static int SpecialId(string path, JsonElement? specials, string name, string where, HfTokenizerCore core)
    {
        if (specials is { } map && Optional(map, name) is { } entry)
        {
            JsonElement ids = Require(path, entry, "ids", $"{where} special_tokens[\"{name}\"]", JsonValueKind.Array);
            if (ids.GetArrayLength() == 0)
                throw new InvalidDataException($"{path}: special_tokens[\"{name}\"].ids is empty.");
            int id = Int(path, ids[0], $"special_tokens[\"{name}\"].ids[0]");
            if (id < 0 || id >= core.VocabSize)
                throw new InvalidDataException($"{path}: special_tokens[\"{name}\"] id {id} is out of range (vocabulary size {core.VocabSize}).");
            return id;
        }
        return core.IdOf(name)
            ?? throw new InvalidDataException($"{path}: {where} names special token '{name}', which is neither in special_tokens nor in the vocabulary.");
    }
}
