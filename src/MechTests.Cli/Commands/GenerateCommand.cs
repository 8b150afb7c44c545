using System.CommandLine;
using MechTests.Models;

namespace MechTests.Cli.Commands;

/// <summary><c>mechtests generate --model PATH [--prompt TEXT] --max-tokens N --temperature 0</c>: prompt + continuation on stdout.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "A Hugging Face model folder or a llama2.c .bin (tokenizer next to it). Default: the embedded stories260K." };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue. Default: empty (start from BOS).", DefaultValueFactory = _ => "" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens to generate.", DefaultValueFactory = _ => 64 };
        CliSupport.AtLeast(maxTokens, 0);
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy; > 0 samples with --seed.", DefaultValueFactory = _ => 0f };
        temperature.Validators.Add(v =>
        {
            float t = v.GetValueOrDefault<float>();
            if (!float.IsFinite(t) || t < 0) v.AddError($"--temperature must be a finite number ≥ 0 (0 = greedy), got {t.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        });
        var seed = new Option<int>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("generate", "Continue a prompt; prints the prompt followed by the continuation.") { model, prompt, maxTokens, temperature, seed };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var m = CliSupport.LoadModel(r.GetValue(model));
            var tok = m.Tokenizer ?? throw new InvalidDataException($"{m.SourcePath}: no tokenizer found next to the model; generate needs one.");
            var engine = BackendOptions.Create(m);
            string text = r.GetValue(prompt) ?? "";
            var ids = tok.Encode(text, tok.AddsBosByDefault);
            if (ids.Length == 0)
                ids = new[] { tok.BosId ?? tok.EosId ?? throw new InvalidDataException("The prompt is empty and the tokenizer has no BOS/EOS token to start from.") };
            var stdout = Console.Out;
            stdout.Write(text);
            int? previous = ids[^1];
            Generator.Generate(engine, ids, r.GetValue(maxTokens), r.GetValue(temperature), tok.EosId, r.GetValue(seed), next =>
            {
                if (next != tok.EosId) stdout.Write(tok.DecodeToken(next, previous));
                previous = next;
                stdout.Flush();
            });
            stdout.WriteLine();
            return 0;
        }));
        return cmd;
    }
}
