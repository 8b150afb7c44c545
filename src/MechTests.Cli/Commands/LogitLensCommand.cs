using System.CommandLine;
using System.Text.Json;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Semantics;
using MechTests.Tasks;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests logit-lens --task T.json --json</c> →
/// <c>{"metric":"logit_diff","layers":[{"name":"resid_pre.0","metric":x,"metric_corrupted":y,...},...]}</c>.
/// </summary>
internal static class LogitLensCommand
{
    public static Command Create()
    {
        var o = new SemanticsOptions();
        var cmd = new Command("logit-lens", "The task metric and the answers' probability and rank at every layer boundary, read through the final norm and unembedding (clean and corrupted).");
        o.AddTo(cmd);
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var (m, runs) = o.Load(r);
            using var _ = runs;
            var lens = LogitLens.Run(runs, m.Weights);
            CliSupport.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("metric", lens.Metric);
                w.WriteString("conventions", lens.Conventions);
                w.WriteNumber("metric_clean", lens.MetricClean);
                w.WriteNumber("metric_corrupted", lens.MetricCorrupted);
                w.WriteStartArray("layers");
                foreach (var l in lens.Layers)
                {
                    w.WriteStartObject();
                    w.WriteString("name", l.Name);
                    w.WriteString("hook", l.HookPoint);
                    w.WriteNumber("metric", l.CleanMetric);
                    w.WriteNumber("metric_corrupted", l.CorruptedMetric);
                    Answers(w, l.Clean);
                    w.WriteStartObject("corrupted");
                    Answers(w, l.Corrupted);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return 0;
        }));
        return cmd;
    }

    private static void Answers(Utf8JsonWriter w, AnswerReadout a)
    {
        w.WriteNumber("correct_prob", a.CorrectProbability);
        w.WriteNumber("correct_rank", a.CorrectRank);
        if (a.WrongProbability is { } p) w.WriteNumber("wrong_prob", p); else w.WriteNull("wrong_prob");
        if (a.WrongRank is { } k) w.WriteNumber("wrong_rank", k); else w.WriteNull("wrong_rank");
    }
}

/// <summary>Options of the commands that read a task's runs semantically (logit-lens, dla).</summary>
internal sealed class SemanticsOptions
{
    public Option<string?> Model { get; } = new("--model") { Description = "Model folder or llama2.c .bin. Default: the embedded stories260K." };
    public Option<string> Task { get; } = new("--task") { Description = "Task file (JSON; see docs/tasks.md).", Required = true };
    public Option<bool> Json { get; } = new("--json") { Description = "Print JSON (the only output format)." };

    public void AddTo(Command c)
    {
        c.Add(Model);
        c.Add(Task);
        c.Add(Json);
    }

    public (LoadedModel Model, TaskRuns Runs) Load(ParseResult r)
    {
        var m = CliSupport.LoadModel(r.GetValue(Model));
        var task = MechTask.Load(r.GetValue(Task)!, m.Tokenizer, m.Config.VocabSize);
        return (m, TaskRuns.Create(new Transformer(m.Config, m.Weights), task));
    }
}
