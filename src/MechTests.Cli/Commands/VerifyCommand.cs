using System.CommandLine;
using MechTests.Circuits;
using MechTests.Models;
using Spectre.Console;

namespace MechTests.Cli.Commands;

/// <summary>
/// <c>mechtests verify [circuits/...]</c>: re-derives every circuit file (its method, parameters and measurements,
/// on the model) and compares the result with its verified snapshot <c>NAME.verified.json</c>; a summary table of
/// every claim with its figures at the end; exit code 0 only when all match and every role claim holds.
/// </summary>
internal static class VerifyCommand
{
    private sealed record Row(string Name, string Path, string Status, CircuitFile? Received, string? Message);

    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Circuit files or folders (default: circuits).", Arity = ArgumentArity.ZeroOrMore };
        var model = new Option<string?>("--model") { Description = "Model folder or llama2.c .bin for every file. Default: each file's model.path, else the embedded stories260K." };
        var accept = new Option<bool>("--accept") { Description = "Accept differences: replace NAME.verified.json (refused on CI unless MECHTESTS_ACCEPT_ON_CI=1)." };
        var allowWeights = new Option<bool>("--allow-different-weights") { Description = "Re-derive on a model whose weights differ from the recorded hash (same shape), e.g. a fine-tune." };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON instead of the table." };
        var cmd = new Command("verify", "Re-derive each circuit and compare it with its verified snapshot.") { paths, model, accept, allowWeights, json };
        cmd.SetAction(r => CliSupport.Run(() =>
        {
            var given = r.GetValue(paths) is { Length: > 0 } p ? p : ["circuits"];
            var files = Expand(given);
            var env = SnapshotSettings.FromEnvironment();
            var verifier = new SnapshotVerifier(env with
            {
                AcceptRequested = env.AcceptRequested || r.GetValue(accept),
                AcceptRequestedBy = r.GetValue(accept) ? "--accept" : env.AcceptRequestedBy,
                AcceptCommand = $"mechtests verify --accept {string.Join(' ', given)}",
                ReportWriter = Reports.SnapshotReportWriter.Instance,
            });
            var models = new Dictionary<string, LoadedModel>(StringComparer.Ordinal);
            var rows = new List<Row>();
            foreach (var path in files)
            {
                string name = Path.GetFileNameWithoutExtension(path);
                CircuitFile? received = null;
                try
                {
                    // Accepting writes the snapshot: a folder that cannot take it fails this row before the work.
                    if (verifier.Settings.Accepting) AtomicFile.CheckWritable(SnapshotVerifier.VerifiedPathOf(Path.ChangeExtension(path, null)), "snapshot");
                    var claim = CircuitFile.Read(path);
                    string modelPath = Path.GetFullPath(CliSupport.ModelPathFor(r.GetValue(model), claim));
                    if (!models.TryGetValue(modelPath, out var loaded)) models[modelPath] = loaded = CliSupport.LoadModel(modelPath);
                    received = CliSupport.WithStages($"verify {name}", s => CircuitPipeline.Rederive(claim, loaded, s, r.GetValue(allowWeights)),
                        expectedStages: 7 + (claim.Roles.Count > 0 ? 1 : 0)); // runs, scores, discovery, faithfulness, curves, completeness, minimality, roles
                    var result = verifier.Verify(received, Path.ChangeExtension(path, null));
                    rows.Add(new Row(name, path, result.Status.ToString().ToLowerInvariant(), received,
                        result.Diff is { } d ? $"accepted {d.Count} difference(s):\n{d.Render()}" : null));
                }
                catch (SnapshotMismatchException e)
                {
                    rows.Add(new Row(name, path, e.Failure switch
                    {
                        SnapshotFailure.Missing => "missing",
                        SnapshotFailure.RoleClaimFailed => "role failed",
                        _ => "mismatch",
                    }, received, e.Message));
                }
                catch (Exception e) when (e is InvalidDataException or InvalidOperationException or FormatException or IOException
                                              or UnauthorizedAccessException or ArgumentException or KeyNotFoundException or NotSupportedException)
                {
                    // One file's problem (bad bytes, a missing model, an unwritable snapshot) is its row; the others still run.
                    string message = CliSupport.Message(e);
                    rows.Add(new Row(name, path, "error", null, message.Contains(path, StringComparison.Ordinal) ? message : $"{path}: {message}"));
                }
            }
            var orphans = given.Where(Directory.Exists)
                .SelectMany(d => SnapshotVerifier.FindOrphans(d, files.Select(f => Path.GetRelativePath(d, Path.ChangeExtension(f, null)))))
                .ToList();
            if (verifier.Settings.OnCi)
                rows.AddRange(orphans.Select(o => new Row(Path.GetFileName(o), o, "orphan", null, $"{o}: a verified snapshot without its circuit file; delete it or restore the circuit.")));
            else
                foreach (var o in orphans) Console.Error.WriteLine($"warning: {o}: a verified snapshot without its circuit file (fails on CI).");
            if (r.GetValue(json)) WriteJson(rows);
            else WriteReport(rows);
            return rows.All(x => x.Status is "matched" or "created" or "updated") ? 0 : 1;
        }));
        return cmd;
    }

    /// <summary>Circuit files named or found in folders (recursively), skipping snapshots; an empty selection is an error.</summary>
    private static List<string> Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
                files.AddRange(Directory.EnumerateFiles(p, "*.json", SearchOption.AllDirectories)
                    .Where(f => !f.EndsWith(SnapshotVerifier.VerifiedSuffix, StringComparison.Ordinal) && !f.EndsWith(SnapshotVerifier.ReceivedSuffix, StringComparison.Ordinal))
                    .Order(StringComparer.Ordinal));
            else if (File.Exists(p)) files.Add(p);
            else throw new FileNotFoundException($"'{p}' is neither a circuit file nor a folder of circuit files.", p);
        }
        if (files.Count == 0) throw new FileNotFoundException($"No circuit files (*.json, not *.verified.json) in {string.Join(", ", paths)}.");
        return files;
    }

    private static readonly string[] Figures = ["faithfulness", "cpr", "cmd", "completeness", "minimality"];

    private static void WriteReport(List<Row> rows)
    {
        foreach (var row in rows.Where(x => x.Message != null))
            Console.WriteLine($"{row.Path}: {row.Status}\n{row.Message}\n");
        var table = new Table().AddColumns(["circuit", "status", "nodes", "edges", "faithfulness", "CPR", "CMD", "incompleteness", "not necessary", "roles hold"]);
        foreach (var row in rows)
        {
            string status = row.Status is "matched" or "created" or "updated" ? $"[green]{row.Status}[/]" : $"[red]{row.Status}[/]";
            var f = row.Received;
            table.AddRow([Markup.Escape(row.Name), status, f?.Circuit.Nodes.Count.ToString() ?? "-", f?.Circuit.Edges.Count.ToString() ?? "-",
                .. Figures.Select(m => f == null ? "-" : CliSupport.SummaryFigure(f, m)),
                f == null || f.Roles.Count == 0 ? "-" : $"{f.Roles.Count(x => x.Holds == true)} of {f.Roles.Count}"]);
        }
        CliSupport.Out.Write(table);
        int ok = rows.Count(x => x.Status is "matched" or "created" or "updated");
        Console.WriteLine($"{ok} of {rows.Count} circuits verified; figures: faithfulness and CPR/CMD normalized (corrupted-patch ablation), incompleteness = worst |F(C\\K) − F(M\\K)| / |L(clean) − L(corrupted)| over the sets K tried, not necessary = components whose removal alone lowers faithfulness by less than δ, roles hold = role claims whose measured value meets its threshold.");
    }

    private static void WriteJson(List<Row> rows) => CliSupport.WriteJson(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("circuits");
        foreach (var row in rows)
        {
            w.WriteStartObject();
            w.WriteString("name", row.Name);
            w.WriteString("path", row.Path);
            w.WriteString("status", row.Status);
            if (row.Received is { } f)
            {
                w.WriteNumber("nodes", f.Circuit.Nodes.Count);
                w.WriteNumber("edges", f.Circuit.Edges.Count);
                foreach (var m in Figures)
                    if (f.Metrics.TryGetValue(m, out var e) && double.IsFinite(e.Value)) w.WriteNumber(m, e.Value);
                if (f.Roles.Count > 0)
                {
                    w.WriteStartArray("roles");
                    foreach (var role in f.Roles)
                    {
                        w.WriteStartObject();
                        w.WriteString("node", role.Node);
                        w.WriteString("claim", role.Kind);
                        if (role.AtLeast is double a) w.WriteNumber("atLeast", a);
                        if (role.AtMost is double b) w.WriteNumber("atMost", b);
                        if (role.Value is double v && double.IsFinite(v)) w.WriteNumber("value", v);
                        w.WriteBoolean("holds", role.Holds == true);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
            }
            if (row.Message != null) w.WriteString("message", row.Message);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("passed", rows.Count(x => x.Status is "matched" or "created" or "updated"));
        w.WriteNumber("failed", rows.Count(x => x.Status is not ("matched" or "created" or "updated")));
        w.WriteEndObject();
    });
}
