using MechTests.Hooks;
using TorchSharp;
using static TorchSharp.torch;

namespace MechTests.TorchSharp.Modules;

/// <summary>
/// An identity module that names an activation (as TransformerLens's HookPoint does). Place one in your TorchSharp
/// transformer at each hook point of <c>docs/hook-points.md</c> and pass the activation through it:
/// <c>x = hookResult.forward(x)</c>. Outside a MechTests run it returns its input unchanged and costs nothing; inside
/// one, the <see cref="Backend.TorchSharpBackend"/> caches the activation, applies interventions (on the device) and
/// takes gradients there by autograd.
/// </summary>
/// <example><code>
/// private readonly HookPoint hookResult = new(HookNames.Result(0));
/// // in forward:
/// var result = hookResult.forward(torch.einsum("bphe,hed->bphd", z, wO));   // [b,p,H,d]
/// </code></example>
public sealed class HookPoint : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates a hook point named <paramref name="hookName"/> (a <see cref="HookNames"/> name).</summary>
    public HookPoint(string hookName) : base(ModuleName(hookName))
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hookName);
        HookName = hookName;
    }

    /// <summary>The hook-point name, e.g. <c>blocks.0.attn.hook_result</c>.</summary>
    public string HookName { get; }

    /// <summary>Set by the backend that owns the model; null outside MechTests.</summary>
    internal HookDispatcher? Dispatcher { get; set; }

    /// <summary>Returns <paramref name="x"/> (outside a run), or what the current run makes of it.</summary>
    public override Tensor forward(Tensor x) => Dispatcher?.Current is { } run ? run.At(HookName, x) : x;

    /// <summary>A module name TorchSharp accepts (no dots): <c>blocks.0.attn.hook_z</c> → <c>blocks_0_attn_hook_z</c>.</summary>
    public static string ModuleName(string hookName) => hookName.Replace('.', '_');
}

/// <summary>What a hook point calls during a run.</summary>
internal interface IHookRun
{
    Tensor At(string hookName, Tensor x);
}

/// <summary>One per backend: every hook point of its model reports to the run in progress.</summary>
internal sealed class HookDispatcher
{
    public IHookRun? Current { get; set; }
}
