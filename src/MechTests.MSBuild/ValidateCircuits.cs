using MechTests.Circuits;
using Microsoft.Build.Framework;
using MSBuildTask = Microsoft.Build.Utilities.Task;

namespace MechTests.MSBuild;

/// <summary>
/// Checks circuit files at build time with <see cref="CircuitFile.Read"/> (schema version, unknown fields, names that
/// fit the model's shape, duplicates, dangling edges, JSON syntax) and reports each file's problem as a located,
/// coded MSBuild error: <c>circuits/x.json(12,5): error MECH0104: circuit.edges[3].name: edge 'a9.h0-&gt;logits' …</c>.
/// Every file is checked, so one build lists every broken file (each stops at its first problem).
/// </summary>
/// <example><code>
/// &lt;UsingTask TaskName="MechTests.MSBuild.ValidateCircuits" AssemblyFile="$(MechTestsTaskAssembly)" /&gt;
/// &lt;Target Name="CheckCircuits" BeforeTargets="CoreCompile"&gt;
///   &lt;MechTests.MSBuild.ValidateCircuits Files="@(MechTestsCircuitFile)" /&gt;
/// &lt;/Target&gt;
/// </code></example>
public sealed class ValidateCircuits : MSBuildTask
{
    /// <summary>The circuit files to check (<c>*.json</c>, <c>*.verified.json</c>); relative paths are relative to the project.</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = [];

    /// <summary>The files that passed.</summary>
    [Output]
    public ITaskItem[] ValidFiles { get; private set; } = [];

    /// <summary>Checks every file; returns false when any had a problem (each is logged as an error).</summary>
    public override bool Execute()
    {
        var valid = new List<ITaskItem>();
        foreach (var item in Files)
            if (Check(item)) valid.Add(item);
        ValidFiles = [.. valid];
        Log.LogMessage(MessageImportance.Normal, "MechTests: checked {0} circuit file(s); {1} with errors.", Files.Length, Files.Length - valid.Count);
        return !Log.HasLoggedErrors;
    }

    private bool Check(ITaskItem item)
    {
        string shown = item.ItemSpec;
        try
        {
            CircuitFile.Read(item.GetMetadata("FullPath"));
            return true;
        }
        catch (CircuitFormatException e)
        {
            string message = e.Field == null ? e.Problem : $"{e.Field}: {e.Problem}";
            Log.LogError(null, e.Code, null, shown, e.Line, e.Column, 0, 0, "{0}", message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogError(null, CircuitFormatException.UnreadableCode, null, shown, 0, 0, 0, 0, "{0}", $"cannot read the circuit file: {e.Message}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A reader bug must still name the file instead of failing the build with a bare stack trace (MSB4018).
            Log.LogError(null, CircuitFormatException.UnreadableCode, null, shown, 0, 0, 0, 0, "{0}", $"the circuit reader failed ({e.GetType().Name}): {e.Message}");
        }
        return false;
    }
}
