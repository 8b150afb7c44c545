using System.Text.Json;
using MechTests.Models;
using MechTests.Models.Loading;
using Spectre.Console;

namespace MechTests.Cli;

/// <summary>What every command shares: model resolution, error reporting, JSON and progress on stderr.</summary>
internal static class CliSupport
{
    /// <summary>The model shipped with the tool (stories260K, llama2.c format).</summary>
    public static string DefaultModelPath => EmbeddedModels.Stories260KPath;

    public static LoadedModel LoadModel(string? path) => ModelLoader.Load(string.IsNullOrEmpty(path) ? DefaultModelPath : path);

    /// <summary>
    /// The model a circuit file is checked on (docs/circuit-format.md "Circuits of several models"): <c>--model</c> when
    /// given, else the file's <c>model.path</c>, else the embedded stories260K.
    /// </summary>
    public static string ModelPathFor(string? explicitModel, Circuits.CircuitFile file)
        => !string.IsNullOrEmpty(explicitModel) ? explicitModel : file.ResolveModelPath() ?? DefaultModelPath;

    /// <summary>An error's text for the command line: a model mismatch gets the advice a CLI user can follow.</summary>
    public static string Message(Exception e) => e is Circuits.ModelMismatchException m
        ? m.WithAdvice("Pass the model it was found on with --model PATH (or record it as model.path in the circuit file), or re-run discovery on this one.").Message
        : e.Message;

    /// <summary>Runs a command body; known input errors become one line on stderr and exit code 2.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or FileNotFoundException or DirectoryNotFoundException
                                      or KeyNotFoundException or NotSupportedException or InvalidOperationException or FormatException)
        {
            Console.Error.WriteLine($"error: {Message(e)}");
            return 2;
        }
    }

    /// <summary>A console on stderr for progress, so stdout stays machine-readable.</summary>
    /// <summary>
    /// Tables on stdout. Redirected output (CI logs, files, pipes) gets no colour codes and a fixed 200-column width,
    /// so a summary table stays one readable row per circuit instead of wrapping at Spectre's 80-column default.
    /// </summary>
    public static IAnsiConsole Out { get; } = CreateOut();

    private static IAnsiConsole CreateOut()
    {
        if (!Console.IsOutputRedirected) return AnsiConsole.Console;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        console.Profile.Width = 200;
        return console;
    }

    public static IAnsiConsole ErrorConsole { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    /// <summary>Runs <paramref name="work"/> with a progress bar of <paramref name="total"/> steps on stderr.</summary>
    public static T WithProgress<T>(string description, int total, Func<IProgress<int>, T> work)
    {
        if (Console.IsErrorRedirected || total <= 1)
            return work(new SyncProgress<int>(_ => { }));
        T result = default!;
        ErrorConsole.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask(description, maxValue: total);
            result = work(new SyncProgress<int>(v => task.Increment(v)));
        });
        return result;
    }

    /// <summary>
    /// Runs <paramref name="work"/> reporting its stages on stderr: a live status line on a terminal, one line per
    /// stage when stderr is redirected (logs, CI). Never on stdout.
    /// </summary>
    public static T WithStages<T>(string title, Func<IProgress<string>, T> work)
    {
        if (Console.IsErrorRedirected)
            return work(new SyncProgress<string>(s => Console.Error.WriteLine($"{title}: {s}")));
        T result = default!;
        ErrorConsole.Status().Start(title, ctx => result = work(new SyncProgress<string>(s => ctx.Status($"{title}: {Markup.Escape(s)}"))));
        return result;
    }

    /// <summary>A metric's value for tables and summaries (4 significant digits, invariant; "-" when absent, "NaN" for NaN).</summary>
    public static string Figure(Circuits.CircuitFile file, string metric)
        => file.Metrics.TryGetValue(metric, out var e) ? e.Value.ToString("G4", System.Globalization.CultureInfo.InvariantCulture) : "-";

    /// <summary>
    /// The figure as a summary table shows it: completeness as the normalized worst incompleteness (comparable across
    /// tasks), minimality as "k of n" components not necessary; everything else as <see cref="Figure"/>.
    /// </summary>
    public static string SummaryFigure(Circuits.CircuitFile file, string metric)
    {
        if (!file.Metrics.TryGetValue(metric, out var e)) return "-";
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (metric == "completeness" && e.Details?["normalized"] is { } n) return double.Parse(n.ToJsonString(), inv).ToString("G4", inv);
        if (metric == "minimality" && e.Details?["components"] is { } c) return $"{e.Value.ToString(inv)} of {c.ToJsonString()}";
        return Figure(file, metric);
    }

    /// <summary>Writes JSON to stdout with invariant, round-trippable numbers.</summary>
    public static void WriteJson(Action<Utf8JsonWriter> write)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = false }))
            write(w);
        stdout.WriteByte((byte)'\n');
    }

    /// <summary>Parses "1,2,3".</summary>
    public static int[] ParseIds(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out ids[i]))
                throw new FormatException($"{option}: '{parts[i]}' is not a token id; expected comma-separated integers like 1,2,3.");
        if (ids.Length == 0) throw new FormatException($"{option}: no token ids given.");
        return ids;
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
