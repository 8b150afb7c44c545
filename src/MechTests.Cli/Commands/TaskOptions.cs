using System.CommandLine;
using MechTests.Models;
using MechTests.Patching;
using MechTests.Tasks;

namespace MechTests.Cli.Commands;

/// <summary>Options shared by commands that measure a task on a model.</summary>
internal sealed class TaskOptions
{
    public Option<string?> Model { get; } = new("--model") { Description = "Model folder or llama2.c .bin. Default: the embedded stories260K." };
    public Option<string> Task { get; } = new("--task") { Description = "Task file (JSON; see docs/tasks.md).", Required = true };
    public Option<string> Level { get; } = new("--level") { Description = "node or edge.", DefaultValueFactory = _ => "node" };
    public Option<string> Granularity { get; } = new("--granularity") { Description = "Node set: component (heads, MLPs), qkv, or neuron.", DefaultValueFactory = _ => "component" };
    public Option<bool> PerPosition { get; } = new("--per-position") { Description = "One node per component and token position (name@p)." };
    public Option<bool> Json { get; } = new("--json") { Description = "Print JSON (the only output format)." };

    public void AddTo(Command c)
    {
        c.Add(Model);
        c.Add(Task);
        c.Add(Level);
        c.Add(Granularity);
        c.Add(PerPosition);
        c.Add(Json);
    }

    public (LoadedModel Model, IModelBackend Engine, TaskRuns Runs) Load(ParseResult r)
    {
        var m = CliSupport.LoadModel(r.GetValue(Model));
        var engine = BackendOptions.Create(m);
        var task = MechTask.Load(r.GetValue(Task)!, m.Tokenizer, m.Config.VocabSize);
        return (m, engine, TaskRuns.Create(engine, task));
    }

    public string GetLevel(ParseResult r)
    {
        var level = r.GetValue(Level) ?? "node";
        if (level is not ("node" or "edge")) throw new ArgumentException($"--level '{level}': expected node or edge.");
        return level;
    }

    public IReadOnlyList<ActivationNode> Nodes(ParseResult r, TaskRuns runs)
    {
        int? positions = null;
        if (r.GetValue(PerPosition))
        {
            var lengths = runs.Task.Pairs.Select(p => p.Length).Distinct().ToArray();
            if (lengths.Length != 1)
                throw new ArgumentException($"--per-position needs all pairs to have one length; this task has lengths {string.Join(", ", lengths)}.");
            positions = lengths[0];
        }
        return NodeSets.Build(runs.Model.Config, NodeSets.ParseGranularity(r.GetValue(Granularity) ?? "component"), positions);
    }
}
