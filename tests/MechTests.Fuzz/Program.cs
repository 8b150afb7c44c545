using System.Globalization;

namespace MechTests.Fuzz;

/// <summary>
/// The long run: <c>dotnet run -c Release --project tests/MechTests.Fuzz -- --minutes N [--seed S] [--target NAME]
/// [--out DIR]</c>. Time is split evenly over the targets; each violating input is saved under DIR/TARGET/ (default
/// artifacts/fuzz) with a .txt saying why — copy it into tests/MechTests.Fuzz/Corpus/TARGET/ once fixed. Prints one
/// row per target (inputs, accepted, rejected, violations, distinct errors, slowest, most allocated); exit 1 on any
/// violation, 2 on a usage error.
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        double minutes = 1;
        int seed = Environment.TickCount & 0x7FFFFFFF;
        string? only = null;
        string output = Path.Combine(FuzzTargets.RepoRoot, "artifacts", "fuzz");
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            try
            {
                switch (args[i])
                {
                    case "--minutes": minutes = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--target": only = Value(); break;
                    case "--out": output = Value(); break;
                    default: throw new ArgumentException($"unknown option '{args[i]}'.");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine($"error: {e.Message}\nusage: --minutes N [--seed S] [--target NAME] [--out DIR]; targets: {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}");
                return 2;
            }
        }
        if (!(minutes > 0) || double.IsInfinity(minutes))
        {
            Console.Error.WriteLine("error: --minutes must be a positive number.");
            return 2;
        }
        var targets = FuzzTargets.All.Where(t => only == null || t.Name == only).ToList();
        if (targets.Count == 0)
        {
            Console.Error.WriteLine($"error: no target '{only}'; targets: {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}");
            return 2;
        }
        Console.WriteLine($"fuzzing {targets.Count} targets for {minutes.ToString(CultureInfo.InvariantCulture)} min, seed {seed}");
        using var runner = new FuzzRunner();
        var all = new List<TargetStats>();
        var perTarget = TimeSpan.FromMinutes(minutes / targets.Count);
        for (int k = 0; k < targets.Count; k++)
        {
            var target = targets[k];
            var stats = runner.Fuzz(target, seed + k, long.MaxValue, DateTime.UtcNow + perTarget, s =>
            {
                var (detail, input) = s.Violations[^1];
                string saved = RegressionCorpus.Save(output, target.Name, input, detail);
                Console.Error.WriteLine($"violation in {target.Name}: {detail.Split('\n')[0]} (saved {saved})");
            });
            all.Add(stats);
            Console.WriteLine(Row(stats, perTarget));
        }
        long violations = all.Sum(s => s.Violations.Count);
        Console.WriteLine($"total: {all.Sum(s => s.Inputs)} inputs, {all.Sum(s => s.Accepted)} accepted, {all.Sum(s => s.Rejected)} rejected with a located error, {violations} violations");
        return violations == 0 ? 0 : 1;
    }

    private static string Row(TargetStats s, TimeSpan budget) => string.Create(CultureInfo.InvariantCulture,
        $"{s.Name,-15} {s.Inputs,9} inputs ({s.Inputs / budget.TotalSeconds,7:0.0}/s)  accepted {s.Accepted,8}  rejected {s.Rejected,9}  violations {s.Violations.Count,3}  distinct errors {s.DistinctErrors.Count,6}  slowest {s.Slowest.TotalMilliseconds,7:0.0} ms  most allocated {s.MostAllocated / 1048576.0,7:0.0} MB");
}
