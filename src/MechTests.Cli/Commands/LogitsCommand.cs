using System.CommandLine;
using MechTests.Hooks;
using MechTests.Models;

namespace MechTests.Cli.Commands;

/// <summary><c>mechtests logits --model PATH --tokens 1,2,3 --json</c> → <c>{"logits": [[...], ...]}</c>, one row per position.</summary>
internal static class LogitsCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder or llama2.c .bin. Default: the embedded stories260K." };
        var tokens = new Option<string?>("--tokens") { Description = "Comma-separated token ids (no tokenizer involved)." };
        var prompt = new Option<string?>("--prompt") { Description = "Text, tokenized as generate does (BOS where the model uses one)." };
        var json = new Option<bool>("--json") { Description = "Print JSON (the only output format)." };
        var cmd = new Command("logits", "Next-token logits at every position.") { model, tokens, prompt, json };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var m = CliSupport.LoadModel(r.GetValue(model));
            int[] ids;
            if (r.GetValue(tokens) is { } t) ids = CliSupport.ParseIds(t, "--tokens");
            else if (r.GetValue(prompt) is { } p)
            {
                var tok = m.Tokenizer ?? throw new InvalidDataException($"{m.SourcePath}: no tokenizer found; use --tokens.");
                ids = tok.Encode(p, tok.AddsBosByDefault);
            }
            else throw new ArgumentException("Give --tokens 1,2,3 or --prompt TEXT.");
            var engine = BackendOptions.Create(m);
            var logits = engine.Run(new[] { ids }, RunOptions.Default).Logits;
            int v = m.Config.VocabSize;
            CliSupport.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("logits");
                for (int p = 0; p < ids.Length; p++)
                {
                    w.WriteStartArray();
                    for (int j = 0; j < v; j++) w.WriteNumberValue(logits.Data[p * v + j]);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return 0;
        }));
        return cmd;
    }
}
