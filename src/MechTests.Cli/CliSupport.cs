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

    /// <summary>Exit code of a usage or input error: a bad option, a missing or malformed file (README "exit codes").</summary>
    public const int UsageError = 2;

    /// <summary>Exit code of an I/O failure: a destination that cannot be written, a full disk, a file that cannot be read.</summary>
    public const int IoError = 3;

    /// <summary>Exit code of an unexpected internal error (a bug: please report it with the command).</summary>
    public const int InternalError = 4;

    /// <summary>
    /// Runs a command body; every failure becomes one line on stderr: input errors exit 2, I/O errors 3 (with the
    /// path), anything else 4 as an internal error — never a stack trace (set MECHTESTS_TRACE=1 to get one).
    /// </summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            var (code, text) = Classify(e);
            Console.Error.WriteLine(text);
            if (code == InternalError && Environment.GetEnvironmentVariable("MECHTESTS_TRACE") == "1") Console.Error.WriteLine(e);
            return code;
        }
    }

    /// <summary>The exit code and one-line message of a failure (see <see cref="Run"/>).</summary>
    public static (int Code, string Text) Classify(Exception e) => e switch
    {
        InvalidDataException or ArgumentException or FileNotFoundException or DirectoryNotFoundException or KeyNotFoundException
            or NotSupportedException or InvalidOperationException or FormatException => (UsageError, $"error: {Trimmed(Message(e))}"),
        IOException or UnauthorizedAccessException => (IoError, $"error: I/O: {Trimmed(e.Message)}"),
        _ => (InternalError, $"internal error: {e.GetType().Name}: {Trimmed(e.Message)} (a bug in MechTests; MECHTESTS_TRACE=1 prints the stack trace)"),
    };

    // Messages of several lines (a diff, a list) stay whole; the error itself is their first line.
    private static string Trimmed(string message) => message.TrimEnd();

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

    /// <summary>
    /// Whether progress is written as plain lines rather than live bars: stderr redirected (logs, pipes) or a CI run
    /// (<c>CI=true</c> or a build-server variable, as snapshot accepting detects it) — live bars would fill CI logs with
    /// redraws.
    /// </summary>
    public static bool PlainProgress => Console.IsErrorRedirected || Circuits.SnapshotSettings.DetectCi(Environment.GetEnvironmentVariable) != null;

    /// <summary>
    /// Runs <paramref name="work"/> with progress of <paramref name="total"/> steps on stderr: a bar with elapsed time
    /// and an estimate of the time left on a terminal, one plain line per 10 % otherwise (<see cref="PlainProgress"/>).
    /// </summary>
    public static T WithProgress<T>(string description, int total, Func<IProgress<int>, T> work)
    {
        if (total <= 1) return work(new SyncProgress<int>(_ => { }));
        if (PlainProgress)
        {
            var line = new PlainProgressLine(description, total);
            var r = work(new SyncProgress<int>(line.Add));
            line.Done();
            return r;
        }
        T result = default!;
        Bars().Start(ctx =>
        {
            var task = ctx.AddTask(Markup.Escape(description), maxValue: total);
            result = work(new SyncProgress<int>(v => task.Increment(v)));
        });
        return result;
    }

    /// <summary>
    /// Runs <paramref name="work"/> reporting its stages on stderr. With <paramref name="expectedStages"/> a terminal
    /// gets a bar over the stages with an estimate of the time left (stages differ in length, so the estimate is rough
    /// until the long ones are done), otherwise a live status line; redirected or on CI, one line per stage with the
    /// time the previous stages took. Never on stdout.
    /// </summary>
    public static T WithStages<T>(string title, Func<IProgress<string>, T> work, int expectedStages = 0)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (PlainProgress)
        {
            var r = work(new SyncProgress<string>(s => Console.Error.WriteLine($"{title}: {s} ({Seconds(clock.Elapsed)} elapsed)")));
            Console.Error.WriteLine($"{title}: done in {Seconds(clock.Elapsed)}");
            return r;
        }
        T result = default!;
        if (expectedStages > 0)
        {
            Bars().Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: expectedStages);
                bool first = true;
                result = work(new SyncProgress<string>(s =>
                {
                    if (!first) task.Increment(1);
                    first = false;
                    task.Description = Markup.Escape($"{title}: {s}");
                }));
                task.Value = expectedStages;
            });
            return result;
        }
        ErrorConsole.Status().Start(title, ctx => result = work(new SyncProgress<string>(s => ctx.Status($"{title}: {Markup.Escape(s)}"))));
        return result;
    }

    private static Progress Bars() => ErrorConsole.Progress().AutoClear(true).Columns(
        new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn());

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";

    /// <summary>Plain progress for logs: one line each time another 10 % is done, with elapsed time and a linear estimate of the rest.</summary>
    private sealed class PlainProgressLine(string description, int total)
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private readonly object _gate = new();
        private int _done, _lastTenth;

        public void Add(int steps)
        {
            lock (_gate) // patching reports from worker threads
            {
                _done += steps;
                int tenth = (int)Math.Min(10, 10L * _done / total);
                if (tenth <= _lastTenth || tenth == 10) return;
                _lastTenth = tenth;
                double elapsed = _clock.Elapsed.TotalSeconds, left = elapsed * (total - _done) / Math.Max(1, _done);
                Console.Error.WriteLine($"{description}: {tenth * 10}% ({_done}/{total}), {Seconds(_clock.Elapsed)} elapsed, ~{Seconds(TimeSpan.FromSeconds(left))} left");
            }
        }

        public void Done() => Console.Error.WriteLine($"{description}: done, {total} steps in {Seconds(_clock.Elapsed)}");
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

    /// <summary>
    /// Writes JSON to stdout with invariant, round-trippable numbers and names as written (<c>a0.h0->a1.h2&lt;q&gt;</c>,
    /// not <c>\u003E</c>/<c>\u003C</c>): the default encoder escapes HTML-sensitive characters for embedding in web
    /// pages, which stdout is not; quotes, backslashes and control characters are still escaped. The document is built
    /// in memory first, so a failure half-way (e.g. a value JSON cannot hold) leaves stdout empty instead of holding a
    /// truncated document.
    /// </summary>
    public static void WriteJson(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            write(w);
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(buffer.WrittenSpan);
        stdout.WriteByte((byte)'\n');
    }

    /// <summary>Rejects values below <paramref name="min"/> as a usage error (exit 2) instead of clamping them silently.</summary>
    public static void AtLeast(System.CommandLine.Option<int> option, int min)
        => option.Validators.Add(v =>
        {
            int value = v.GetValueOrDefault<int>();
            if (value < min) v.AddError($"{option.Name} must be at least {min}, got {value}.");
        });

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
