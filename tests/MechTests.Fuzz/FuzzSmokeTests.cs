using Xunit;
using Xunit.Abstractions;

namespace MechTests.Fuzz;

/// <summary>
/// The part of the fuzzing suite that runs in <c>dotnet test</c>: the regression corpus, a short seeded run of every
/// target (a fixed count, so it is deterministic and about 20 s on two cores), and a check that the rule can fail.
/// </summary>
public sealed class FuzzSmokeTests(ITestOutputHelper output)
{
    /// <summary>Mutated inputs per target in the smoke run.</summary>
    private const int SmokeInputs = 400;

    /// <summary>
    /// The smoke run's runner. Its per-input time cap is 30 s instead of the long runs' 2 s: here the fuzzer shares two
    /// cores with another test assembly and coverage instrumentation, and one GC pause or JIT burst past 2 s failed a
    /// rule that is about pathological inputs (those take minutes or hang; the hang cap still applies).
    /// </summary>
    private static FuzzRunner Runner() => new() { TimeCap = TimeSpan.FromSeconds(30), HangCap = TimeSpan.FromSeconds(120) };

    public static TheoryData<string> Targets() => new(FuzzTargets.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public void SeedsAreAccepted(string name)
    {
        var target = FuzzTargets.All.Single(t => t.Name == name);
        using var runner = Runner();
        foreach (var seed in target.Seeds)
        {
            var result = runner.Run(target, seed);
            Assert.True(result.Outcome == Outcome.Accepted, $"{name}: a seed input was not accepted: {result.Detail}");
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void ShortSeededRunKeepsTheRule(string name)
    {
        var target = FuzzTargets.All.Single(t => t.Name == name);
        using var runner = Runner();
        var stats = runner.Fuzz(target, seed: 19, SmokeInputs);
        output.WriteLine($"{name}: {stats.Inputs} inputs, {stats.Accepted} accepted, {stats.Rejected} rejected, {stats.DistinctErrors.Count} distinct errors, slowest {stats.Slowest.TotalMilliseconds:0.0} ms");
        Assert.Equal(SmokeInputs, stats.Inputs);
        Assert.True(stats.Violations.Count == 0, string.Join("\n\n", stats.Violations.Select(v => v.Detail)));
        Assert.True(stats.Rejected > 0, "no mutated input was rejected: the mutator is not reaching the reader's checks");
    }

    [Fact]
    public void TheRegressionCorpusKeepsTheRule()
    {
        using var runner = Runner();
        var entries = RegressionCorpus.Entries().ToList();
        Assert.NotEmpty(entries);
        foreach (var (target, file) in entries)
        {
            var result = runner.Run(target, File.ReadAllBytes(file));
            output.WriteLine($"{target.Name}/{Path.GetFileName(file)}: {result.Outcome}: {result.Detail?.Split('\n')[0]}");
            Assert.True(result.Outcome != Outcome.Violation, $"{target.Name}/{Path.GetFileName(file)}: {result.Detail}");
        }
    }

    [Fact]
    public void TheRuleCatchesUndocumentedErrorsUnnamedFilesAndOverAllocation()
    {
        FuzzTarget Reader(Action<string> read) => new("probe", "x.json", true, 0, [[]], new Dictionary<string, byte[]>(), read);
        using var runner = new FuzzRunner { AllocationCap = 1 << 20 };
        Assert.Equal(Outcome.Accepted, runner.Run(Reader(_ => { }), [1]).Outcome);
        Assert.Equal(Outcome.Rejected, runner.Run(Reader(p => throw new InvalidDataException($"{p}: bad")), [1]).Outcome);
        var unnamed = runner.Run(Reader(_ => throw new InvalidDataException("bad")), [1]);
        Assert.Equal(Outcome.Violation, unnamed.Outcome);
        Assert.StartsWith("InvalidDataException does not name the file", unnamed.Detail);
        var undocumented = runner.Run(Reader(p => throw new InvalidOperationException($"{p}: bad")), [1]);
        Assert.StartsWith("undocumented InvalidOperationException", undocumented.Detail);
        var greedy = runner.Run(Reader(_ => GC.KeepAlive(new byte[8 << 20])), [1]);
        Assert.StartsWith("allocated 8 MB (cap 1 MB)", greedy.Detail);
    }

    [Fact]
    public void TheMutatorIsDeterministicPerSeed()
    {
        var seed = FuzzTargets.All.Single(t => t.Name == "circuit").Seeds[0];
        var a = new Mutator(5);
        var b = new Mutator(5);
        for (int i = 0; i < 50; i++) Assert.Equal(a.Mutate(seed, true, 0), b.Mutate(seed, true, 0));
    }
}
