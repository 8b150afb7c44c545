using System.CommandLine;
using MechTests.Models;
using MechTests.Semantics;
using MechTests.Tasks;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests attention --prompt TEXT [--layer L --head H] --json</c> →
/// <c>{"tokens":[..],"patterns":{"a0.h0":[[..],..],..}}</c>; with <c>--scores</c> →
/// <c>{"scores":{"previous_token":{"a0.h0":x,..},"induction":{..},"duplicate_token":{..},"attention_to_position":{..}},"conventions":{..}}</c>.
/// </summary>
internal static class AttentionCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder or llama2.c .bin. Default: the embedded stories260K." };
        var prompt = new Option<string?>("--prompt") { Description = "Text, tokenized as generate does (BOS where the model uses one)." };
        var tokens = new Option<string?>("--tokens") { Description = "Comma-separated token ids instead of --prompt." };
        var layer = new Option<int?>("--layer") { Description = "Only this layer's heads." };
        var head = new Option<int?>("--head") { Description = "Only this head (with --layer)." };
        var scores = new Option<bool>("--scores") { Description = "Print head scores instead of patterns: previous-token (over --task's clean prompts, or the random repeats), induction and duplicate-token (random repeats), and with --to-token/--to-answer/--to-position attention from the last position to that position of each --task prompt." };
        var task = new Option<string?>("--task") { Description = "Task file whose clean prompts the previous-token and attention-to-position scores use." };
        var toToken = new Option<string?>("--to-token") { Description = "With --task: the first position of this single token (e.g. \" Lily\") in each clean prompt." };
        var toAnswer = new Option<bool>("--to-answer") { Description = "With --task: the first position of each pair's correct answer token in its clean prompt (the name token of a name-copy task)." };
        var toPosition = new Option<int?>("--to-position") { Description = "With --task: this 0-based position of each clean prompt (negative counts from the end)." };
        var period = new Option<int>("--period") { Description = "Length of the random sequence that is repeated once.", DefaultValueFactory = _ => 20 };
        var count = new Option<int>("--count") { Description = "Number of random repeated sequences.", DefaultValueFactory = _ => 16 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random repeats.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print JSON (the only output format)." };
        var cmd = new Command("attention", "Attention patterns of a prompt, or the standard head scores (previous-token, induction, duplicate-token, attention to a position).")
        {
            model, prompt, tokens, layer, head, scores, task, toToken, toAnswer, toPosition, period, count, seed, json,
        };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var m = CliSupport.LoadModel(r.GetValue(model));
            var engine = new Transformer(m.Config, m.Weights);
            if (r.GetValue(scores))
            {
                WriteScores(m, engine, r.GetValue(task), r.GetValue(toToken), r.GetValue(toAnswer), r.GetValue(toPosition),
                    RepeatedTokens.Generate(m.Config, r.GetValue(period), r.GetValue(count), r.GetValue(seed)));
                return 0;
            }
            int[] ids;
            if (r.GetValue(tokens) is { } t) ids = CliSupport.ParseIds(t, "--tokens");
            else if (r.GetValue(prompt) is { } p)
            {
                var tok = m.Tokenizer ?? throw new InvalidDataException($"{m.SourcePath}: no tokenizer found; use --tokens.");
                ids = tok.Encode(p, tok.AddsBosByDefault);
            }
            else throw new ArgumentException("Give --prompt TEXT or --tokens 1,2,3 (or --scores).");
            foreach (int id in ids)
                if (id < 0 || id >= m.Config.VocabSize) throw new ArgumentException($"--tokens: id {id} is outside the vocabulary 0..{m.Config.VocabSize - 1}.");
            if (ids.Length > m.Config.MaxPositions) throw new ArgumentException($"The prompt has {ids.Length} tokens; the model has {m.Config.MaxPositions} positions.");
            int? l = r.GetValue(layer), h = r.GetValue(head);
            if (l is { } lv && (lv < 0 || lv >= m.Config.NLayers)) throw new ArgumentException($"--layer {lv}: expected 0..{m.Config.NLayers - 1}.");
            if (h is { } hv && (hv < 0 || hv >= m.Config.NHeads)) throw new ArgumentException($"--head {hv}: expected 0..{m.Config.NHeads - 1}.");
            if (h != null && l == null) throw new ArgumentException("--head needs --layer.");
            var patterns = HeadScores.Patterns(engine, ids);
            CliSupport.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("conventions", "patterns[query][key]: attention probability from query position to key position (rows sum to 1, 0 above the diagonal)");
                w.WriteStartArray("tokens");
                foreach (int id in ids) w.WriteNumberValue(id);
                w.WriteEndArray();
                w.WriteStartObject("patterns");
                for (int li = 0; li < m.Config.NLayers; li++)
                {
                    if (l != null && li != l) continue;
                    for (int hi = 0; hi < m.Config.NHeads; hi++)
                    {
                        if (h != null && hi != h) continue;
                        w.WriteStartArray($"a{li}.h{hi}");
                        int n = ids.Length;
                        for (int q = 0; q < n; q++)
                        {
                            w.WriteStartArray();
                            for (int k = 0; k < n; k++) w.WriteNumberValue(patterns[li].Data[(hi * n + q) * n + k]);
                            w.WriteEndArray();
                        }
                        w.WriteEndArray();
                    }
                }
                w.WriteEndObject();
                w.WriteEndObject();
            });
            return 0;
        }));
        return cmd;
    }

    private static void WriteScores(LoadedModel m, Transformer engine, string? taskPath, string? toToken, bool toAnswer, int? toPosition, RepeatedTokens repeats)
    {
        MechTask? task = taskPath == null ? null : MechTask.Load(taskPath, m.Tokenizer, m.Config.VocabSize);
        int targets = (toToken != null ? 1 : 0) + (toAnswer ? 1 : 0) + (toPosition != null ? 1 : 0);
        if (targets > 1) throw new ArgumentException("Give one of --to-token, --to-answer and --to-position.");
        if (task == null && targets > 0) throw new ArgumentException("--to-token, --to-answer and --to-position need --task (whose clean prompts they index).");
        var tables = new List<HeadScoreTable>
        {
            HeadScores.PreviousToken(engine, task?.Pairs.Select(p => p.Clean).ToArray() ?? repeats.Sequences),
            HeadScores.Induction(engine, repeats),
            HeadScores.DuplicateToken(engine, repeats),
        };
        if (task != null && targets > 0)
        {
            var prompts = task.Pairs.Select(p => p.Clean).ToArray();
            int[] positions;
            string what;
            if (toToken != null)
            {
                var tok = m.Tokenizer ?? throw new InvalidDataException($"{m.SourcePath}: no tokenizer found for --to-token.");
                var ids = tok.EncodeContinuation(toToken);
                if (ids.Length != 1) throw new ArgumentException($"--to-token '{toToken}' is {ids.Length} tokens; expected one.");
                positions = task.Pairs.Select(p => Array.IndexOf(p.Clean, ids[0]) is var i and >= 0 ? i
                    : throw new ArgumentException($"{task.SourcePath}: pair {p.Index}: its clean prompt has no token '{toToken}' (id {ids[0]}).")).ToArray();
                what = $"the first '{toToken}' token";
            }
            else if (toAnswer)
            {
                positions = task.Pairs.Select(p => Array.IndexOf(p.Clean, p.Correct[0]) is var i and >= 0 ? i
                    : throw new ArgumentException($"{task.SourcePath}: pair {p.Index}: its clean prompt does not contain its correct answer (id {p.Correct[0]}).")).ToArray();
                what = "the first occurrence of the pair's correct answer";
            }
            else
            {
                int pos = toPosition!.Value;
                positions = task.Pairs.Select(p => pos >= 0 ? pos : p.Length + pos).ToArray();
                what = $"position {pos}";
            }
            tables.Add(HeadScores.AttentionToPosition(engine, prompts, positions, what));
        }
        CliSupport.WriteJson(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("scores");
            foreach (var t in tables)
            {
                w.WriteStartObject(t.Kind);
                for (int l = 0; l < t.Layers; l++)
                    for (int h = 0; h < t.Heads; h++) w.WriteNumber($"a{l}.h{h}", t[l, h]);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("conventions");
            foreach (var t in tables) w.WriteString(t.Kind, t.Conventions);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }
}
