using MechTests.Hooks;
using MechTests.Models;
using MechTests.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;
using HostTensor = MechTests.Tensors.Tensor;

namespace MechTests.TorchSharp.Backend;

/// <summary>
/// An <see cref="IModelBackend"/> over a TorchSharp <see cref="HookedTransformer"/> — a built-in one or the user's own:
/// every MechTests measurement (patching, AtP, AtP*, EAP, EAP-IG, circuits) runs on libtorch, on the CPU or a GPU.
/// Interventions are applied on the device, gradients at hook points come from autograd, and only what a measurement
/// reads (logits, cached activations, gradients it asks for) is copied to the host, when it reads it.
/// </summary>
/// <example><code>
/// var model = ModelLoader.Load("models/stories260K/stories260K.bin");
/// using var backend = TorchSharpBackend.Load(model, new TorchSharpOptions { Device = "cuda" });
/// var runs = TaskRuns.Create(backend, task);   // every measurement now runs on the GPU
/// </code></example>
public sealed class TorchSharpBackend : IModelBackend, IDisposable
{
    private readonly HookDispatcher _dispatcher = new();
    private readonly object _gate = new();
    private readonly bool _ownsModel;

    /// <summary>Wraps <paramref name="model"/>, whose parameters already live on <paramref name="device"/> (default: CPU).</summary>
    /// <exception cref="HookContractException">The model lacks a hook point every measurement needs.</exception>
    public TorchSharpBackend(HookedTransformer model, Device? device = null) : this(model, device, ownsModel: false) { }

    private TorchSharpBackend(HookedTransformer model, Device? device, bool ownsModel)
    {
        TorchRuntime.EnsureLoaded();
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Device = device ?? CPU;
        _ownsModel = ownsModel;
        foreach (var hp in model.HookPoints()) hp.Dispatcher = _dispatcher;
        HookContract.Check(this, HookContract.Level.Node);
    }

    /// <summary>Builds the built-in TorchSharp module for a loaded model (any family the managed engine runs).</summary>
    /// <exception cref="InvalidOperationException">No native libtorch, or CUDA asked for and not available: the message says what to add.</exception>
    public static TorchSharpBackend Load(LoadedModel model, TorchSharpOptions? options = null) =>
        Create(model.Config, model.Weights, options);

    /// <summary>
    /// The entry <see cref="ModelBackends.Create"/> finds by reflection (MECHTESTS_BACKEND=torchsharp): the built-in
    /// module on <paramref name="device"/> (null: cpu), float32.
    /// </summary>
    public static TorchSharpBackend FromLoadedModel(LoadedModel model, string? device) =>
        Load(model, new TorchSharpOptions { Device = string.IsNullOrWhiteSpace(device) ? "cpu" : device });

    /// <summary>Builds the built-in module from a config and canonical weights.</summary>
    public static TorchSharpBackend Create(ModelConfig config, ModelWeights weights, TorchSharpOptions? options = null)
    {
        options ??= new TorchSharpOptions();
        var device = TorchRuntime.ResolveDevice(options.Device);
        if (options.CpuThreads is int threads)
        {
            if (threads < 1) throw new ArgumentException($"TorchSharpOptions.CpuThreads = {threads}: expected 1 or more.");
            torch.set_num_threads(threads);
        }
        var module = new BuiltInTransformer(config, weights, device, options.DType);
        module.eval();
        return new TorchSharpBackend(module, device, ownsModel: true);
    }

    /// <summary>The module measured.</summary>
    public HookedTransformer Model { get; }

    /// <summary>The device its tensors live on.</summary>
    public Device Device { get; }

    /// <inheritdoc />
    public ModelConfig Config => Model.Config;

    private ScalarType DType => Model is BuiltInTransformer b ? b.DType : ScalarType.Float32;

    /// <inheritdoc />
    public ForwardPass Run(IReadOnlyList<int[]> tokens, RunOptions options)
    {
        lock (_gate) return RunLocked(tokens, options, out _);
    }

    /// <summary>Runs and reports which hook points were reached (for <see cref="HookContract"/>).</summary>
    internal ForwardPass Run(IReadOnlyList<int[]> tokens, RunOptions options, out IReadOnlySet<string> reached)
    {
        lock (_gate) return RunLocked(tokens, options, out reached);
    }

    // weightGradients: record with every weight of the built-in module a gradient leaf — only for the pass Backward
    // re-runs when BackwardOptions.WeightGradients asks for them.
    private ForwardPass RunLocked(IReadOnlyList<int[]> tokens, RunOptions options, out IReadOnlySet<string> reached, bool weightGradients = false)
    {
        var (b, t) = Config.CheckTokens(tokens);
        if (options.LastPositionLogitsOnly && options.RecordForBackward)
            throw new ArgumentException("RunOptions.LastPositionLogitsOnly cannot be combined with RecordForBackward.");
        if (options.ResumeFrom is { } resume)
        {
            if (options.RecordForBackward)
                throw new ArgumentException("RunOptions.ResumeFrom cannot be combined with RecordForBackward: the skipped layers have no record.");
            if (resume.Layer < 0 || resume.Layer >= Config.NLayers)
                throw new ArgumentException($"ResumeFrom.Layer = {resume.Layer}; the model has layers 0..{Config.NLayers - 1}.");
            if (resume.ResidPre.Rank != 3 || resume.ResidPre.Shape[0] != b || resume.ResidPre.Shape[1] != t || resume.ResidPre.Shape[2] != Config.DModel)
                throw new ArgumentException($"ResumeFrom.ResidPre has shape {resume.ResidPre.ShapeText}; expected [{b}, {t}, {Config.DModel}].");
        }
        bool record = options.RecordForBackward;
        var resources = new PassResources();
        var run = new HookRun(this, options, record, resources);
        var known = KnownHookNames();
        foreach (var name in run.InterventionHooks)
            if (!known.Contains(name))
                throw new ArgumentException($"Intervention at unknown hook point '{name}'. See HookNames for the naming scheme (e.g. '{HookNames.Result(0)}').");

        bool wantsSplit = options.SplitQkvInput || Enumerable.Range(0, Config.NLayers).Any(l =>
            run.Active(HookNames.QInput(l)) || run.Active(HookNames.KInput(l)) || run.Active(HookNames.VInput(l)));
        // A recorded pass splits too, so gradients at the q/k/v inputs exist — unless ln1 is changed, which only the
        // fused path lets take effect (as in the managed engine).
        bool ln1Changed = Enumerable.Range(0, Config.NLayers).Any(l => run.Intervenes(HookNames.Ln1(l)));
        bool split = Model.SupportsSplitQkvInput && (wantsSplit || (record && !ln1Changed));
        if (wantsSplit && !Model.SupportsSplitQkvInput)
            throw new HookContractException($"{Model.GetType().Name} does not support split q/k/v inputs (SupportsSplitQkvInput is false), which edge-level measurement needs. " + HookContract.SplitAdvice);

        Model.SplitQkvInput = split;
        if (Model is BuiltInTransformer builtIn)
        {
            builtIn.Materialise = name => record || run.Active(name);
            builtIn.Changes = run.Intervenes;
            builtIn.WeightsRequireGrad = weightGradients;
        }
        _dispatcher.Current = run;
        Tensor logits;
        try
        {
            using var scope = NewDisposeScope();
            using var grad = record ? enable_grad() : no_grad();
            Tensor raw;
            if (options.ResumeFrom is { } from)
            {
                var residPre = Upload(from.ResidPre, Device);
                raw = Model.ForwardFrom(from.Layer, residPre) ?? Replay(run, tokens, b, t, from.Layer, residPre);
            }
            else raw = Model.forward(TokenTensor(tokens, b, t));
            if (record) run.Recorded[RecordKeys.Output] = resources.Keep(raw);
            logits = options.LastPositionLogitsOnly ? raw.narrow(1, t - 1, 1) : raw;
            logits = resources.Keep(logits.detach());
        }
        catch
        {
            resources.Dispose();
            throw;
        }
        finally
        {
            _dispatcher.Current = null;
            Model.SplitQkvInput = false;
        }
        reached = run.Reached;
        // The tokens and options are kept so Backward can re-run this pass with weight gradients.
        var record_ = record ? new Record(run.Recorded, resources, b, t, split, tokens.Select(x => (int[])x.Clone()).ToArray(),
            new RunOptions { Cache = options.Cache, Interventions = options.Interventions.ToList(), SplitQkvInput = options.SplitQkvInput, RecordForBackward = true }) : null;
        int tOut = options.LastPositionLogitsOnly ? 1 : t;
        return new ForwardPass(new[] { b, tOut, Config.VocabSize }, () => resources.ToHost(logits), run.Cache, b, t, record_, resources.Dispose);
    }

    /// <summary>
    /// The module's own forward on <paramref name="tokens"/>, as its owner runs it — no run in progress, so every hook
    /// passes its input through, and for the built-in module only what forward needs is materialised — under the
    /// backend's lock, since it changes the module's <c>Materialise</c> that a concurrent <see cref="Run(IReadOnlyList{int[]}, RunOptions)"/> reads.
    /// CUDA is synchronised before it returns (for <see cref="HookOverheadBenchmark"/>).
    /// </summary>
    internal void BareForward(Tensor tokens)
    {
        lock (_gate)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var builtIn = Model as BuiltInTransformer;
            var saved = builtIn?.Materialise;
            if (builtIn is not null) builtIn.Materialise = _ => false;
            try { Model.forward(tokens); }
            finally { if (builtIn is not null) builtIn.Materialise = saved; }
            if (Device.type == DeviceType.CUDA) torch.cuda.synchronize(Device);
        }
    }

    /// <summary>A model without ForwardFrom: run it whole with resid_pre of the layer replaced and earlier hooks silent.</summary>
    private Tensor Replay(HookRun run, IReadOnlyList<int[]> tokens, int b, int t, int layer, Tensor residPre)
    {
        run.SilentBelow = layer;
        run.Replace = (HookNames.ResidPre(layer), residPre);
        return Model.forward(TokenTensor(tokens, b, t));
    }

    private Tensor TokenTensor(IReadOnlyList<int[]> tokens, int b, int t)
    {
        var flat = new long[b * t];
        for (int i = 0; i < b; i++)
        for (int j = 0; j < t; j++) flat[i * t + j] = tokens[i][j];
        return tensor(flat, new long[] { b, t }, device: Device);
    }

    /// <summary>Copies a host tensor to <paramref name="device"/> in the model's element type.</summary>
    internal Tensor Upload(HostTensor host, Device device) =>
        tensor(host.Data, host.Shape.Select(s => (long)s).ToArray(), device: device).to(DType);

    /// <inheritdoc />
    public BackwardPass Backward(ForwardPass pass, HostTensor dLogits, BackwardOptions options)
    {
        var rec = pass.BackendRecord as Record ?? throw new InvalidOperationException(
            "This forward pass has no backward record: run it with RunOptions.RecordForBackward = true (and do not dispose it before the backward pass).");
        int b = pass.Batch, t = pass.Positions, n = Config.NLayers;
        if (options.ResumeFrom == null && (dLogits.Rank != 3 || dLogits.Shape[0] != b || dLogits.Shape[1] != t || dLogits.Shape[2] != Config.VocabSize))
            throw new ArgumentException($"dLogits has shape {dLogits.ShapeText}; expected [{b}, {t}, {Config.VocabSize}] like the logits.");
        if (options.StopGradientAtLayerWrite is int s0 && (s0 < 0 || s0 >= n))
            throw new ArgumentOutOfRangeException(nameof(options), $"StopGradientAtLayerWrite = {s0} but the model has layers 0..{n - 1}.");
        if (options.WeightGradients && Model is not BuiltInTransformer)
            throw new NotSupportedException($"BackwardOptions.WeightGradients needs the built-in module ({Model.GetType().Name} is your own): train your module's parameters with torch.optim, whose gradients are autograd's (see the README's TorchSharp section).");
        if (options.WeightGradients && (options.ResumeFrom != null || options.StopGradientAtLayerWrite != null))
            throw new ArgumentException("BackwardOptions.WeightGradients cannot be combined with ResumeFrom or StopGradientAtLayerWrite: weight gradients are those of the whole pass.", nameof(options));
        int top = n - 1;
        lock (_gate)
        {
            var resources = new PassResources();
            var grads = new ActivationCache("gradients");
            Dictionary<string, float[]>? weightGrads = null;
            try
            {
                using var scope = NewDisposeScope();
                using var _ = enable_grad();
                Tensor start, startGrad;
                if (options.ResumeFrom is { } resume)
                {
                    if (resume.Layer < 0 || resume.Layer >= n)
                        throw new ArgumentOutOfRangeException(nameof(options), $"ResumeFrom.Layer = {resume.Layer} but the model has layers 0..{n - 1}.");
                    var g = resume.ResidPostGradient;
                    if (g.Rank != 3 || g.Shape[0] != b || g.Shape[1] != t || g.Shape[2] != Config.DModel)
                        throw new ArgumentException($"ResumeFrom.ResidPostGradient has shape {g.ShapeText}; expected [{b}, {t}, {Config.DModel}] like resid_post.", nameof(options));
                    top = resume.Layer;
                    start = rec.Get(HookNames.ResidPost(top));
                    startGrad = Upload(g, Device);
                }
                else
                {
                    start = rec.Get(RecordKeys.Output);
                    startGrad = Upload(dLogits, Device);
                }
                var wanted = rec.Names.Where(name => name != RecordKeys.Output && options.Gradients.Matches(name)
                    && (options.ResumeFrom == null || HookNames.BlockOf(name) <= top)).ToList();
                int? stop = options.StopGradientAtLayerWrite is int s && s <= top ? s : null;
                var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                if (stop is not int sl)
                    Grad(rec, start, startGrad, wanted, result);
                else
                {
                    // Above the dropped layer the gradient is the ordinary one; layer sl passes it only along the skip
                    // connection (its attention and MLP writes get zero), so below sl it starts at resid_pre(sl).
                    string post = HookNames.ResidPost(sl);
                    var above = wanted.Where(x => HookNames.BlockOf(x) > sl).Append(post).Distinct().ToList();
                    Grad(rec, start, startGrad, above, result);
                    var gPost = result[post];
                    if (!options.Gradients.Matches(post)) result.Remove(post);
                    foreach (var name in wanted.Where(x => HookNames.BlockOf(x) == sl))
                        result[name] = name == HookNames.ResidPre(sl) || name == HookNames.ResidMid(sl) || name == post
                            ? gPost : zeros_like(rec.Get(name));
                    Grad(rec, rec.Get(HookNames.ResidPre(sl)), gPost, wanted.Where(x => HookNames.BlockOf(x) < sl).ToList(), result);
                }
                foreach (var (name, g) in result)
                {
                    var kept = resources.Keep(g.detach());
                    grads.SetLazy(name, kept.shape.Select(x => (int)x).ToArray(), () => resources.ToHost(kept));
                }
                if (options.WeightGradients) weightGrads = WeightGradients(rec, startGrad);
            }
            catch
            {
                resources.Dispose();
                throw;
            }
            return new BackwardPass(grads, weightGrads, resources.Dispose);
        }
    }

    /// <summary>
    /// ∂(logits·dLogits)/∂weight for every weight of the built-in module, by autograd, copied to the host (they
    /// outlive the pass, as the managed engine's do) under <see cref="ModelWeights.Named"/>'s names and layouts.
    /// </summary>
    /// <remarks>
    /// A recorded pass is recorded with the weights outside autograd (what attribution needs costs no weight-gradient
    /// memory), and whether weight gradients are wanted is known only now, so the pass is re-run — same tokens, same
    /// interventions — with the weights as gradient leaves, and differentiated once. Training pays one extra forward
    /// pass per step; in exchange no AtP/EAP pass keeps each projection's input. A custom intervention runs twice.
    /// </remarks>
    private Dictionary<string, float[]> WeightGradients(Record rec, Tensor startGrad)
    {
        var model = (BuiltInTransformer)Model;
        try
        {
            using var rerun = RunLocked(rec.Tokens, rec.Options, out _, weightGradients: true);
            var start = ((Record)rerun.BackendRecord!).Get(RecordKeys.Output);
            var named = model.NamedWeights().ToList();
            var g = autograd.grad(new[] { start }, named.Select(n => n.Weight).ToList(), new[] { startGrad }, retain_graph: false, create_graph: false, allow_unused: true);
            var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
            for (int i = 0; i < named.Count; i++)
            {
                var gi = g[i] is { } x && x.Handle != IntPtr.Zero ? x : zeros_like(named[i].Weight);
                result[named[i].Name] = gi.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            }
            return result;
        }
        finally
        {
            model.WeightsRequireGrad = false;
        }
    }

    /// <summary>∂(start·startGrad)/∂hook for each name, into <paramref name="into"/> (zeros where a hook does not reach start).</summary>
    private static void Grad(Record rec, Tensor start, Tensor startGrad, IReadOnlyList<string> names, Dictionary<string, Tensor> into)
    {
        var inputs = new List<Tensor>();
        var inputNames = new List<string>();
        foreach (var name in names)
        {
            var x = rec.Get(name);
            if (ReferenceEquals(x, start)) { into[name] = startGrad; continue; }
            inputs.Add(x);
            inputNames.Add(name);
        }
        if (inputs.Count == 0) return;
        var g = autograd.grad(new[] { start }, inputs, new[] { startGrad }, retain_graph: true, create_graph: false, allow_unused: true);
        for (int i = 0; i < inputs.Count; i++)
            into[inputNames[i]] = g[i] is { } gi && gi.Handle != IntPtr.Zero ? gi : zeros_like(inputs[i]);
    }

    /// <inheritdoc />
    public HostTensor ProjectHeadInput(int layer, int head, bool key, HostTensor residInput)
    {
        if ((uint)layer >= (uint)Config.NLayers) throw new ArgumentOutOfRangeException(nameof(layer));
        if ((uint)head >= (uint)Config.NHeads) throw new ArgumentOutOfRangeException(nameof(head));
        if (residInput.Rank != 3 || residInput.Shape[2] != Config.DModel) throw new ArgumentException($"Expected [b,p,{Config.DModel}], got {residInput.ShapeText}.");
        int b = residInput.Shape[0], t = residInput.Shape[1];
        if (Model is BuiltInTransformer builtIn)
        {
            lock (_gate)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var y = builtIn.ProjectHeadInput(layer, head, key, Upload(residInput, Device));
                using var res = new PassResources();
                return res.ToHost(y);
            }
        }
        // Any other model: run from that layer with the input as resid_pre and read the head's (rotated) q or k.
        bool rotary = Config.Rotary != RotaryStyle.None;
        string name = key ? (rotary ? HookNames.RotK(layer) : HookNames.K(layer)) : (rotary ? HookNames.RotQ(layer) : HookNames.Q(layer));
        var tokens = Enumerable.Range(0, b).Select(_ => new int[t]).ToArray();
        using var pass = Run(tokens, new RunOptions { Cache = HookFilter.Only(name), ResumeFrom = new ResumePoint(layer, residInput), LastPositionLogitsOnly = true });
        var all = pass.Cache[name];
        int heads = all.Shape[2], dh = Config.DHead, src = key ? head / Config.GroupSize : head;
        var outData = new float[b * t * dh];
        for (int r = 0; r < b * t; r++) Array.Copy(all.Data, (r * heads + src) * dh, outData, r * dh, dh);
        return new HostTensor(outData, b, t, dh);
    }

    private HashSet<string>? _known;

    private HashSet<string> KnownHookNames() => _known ??= Model.HookPoints().Select(h => h.HookName).ToHashSet(StringComparer.Ordinal);

    /// <summary>Every hook point the model has.</summary>
    public IReadOnlyCollection<string> AllHookNames() => KnownHookNames();

    /// <summary>Frees the built-in module's device memory (a user's module is left to its owner).</summary>
    public void Dispose()
    {
        foreach (var hp in Model.HookPoints()) hp.Dispatcher = null;
        if (_ownsModel) Model.Dispose();
    }

    private static class RecordKeys
    {
        public const string Output = "\0output";
    }

    /// <summary>What a recorded pass keeps for autograd: the hook tensors (graph nodes) and the output.</summary>
    private sealed class Record(Dictionary<string, Tensor> tensors, PassResources resources, int batch, int positions, bool split,
        IReadOnlyList<int[]> tokens, RunOptions options)
    {
        public IReadOnlyList<int[]> Tokens => tokens;
        public RunOptions Options => options;
        public IEnumerable<string> Names => tensors.Keys;
        public int Batch => batch;
        public int Positions => positions;
        public bool Split => split;
        public PassResources Resources => resources;

        public Tensor Get(string name) => tensors.TryGetValue(name, out var x) ? x
            : throw new KeyNotFoundException($"The recorded pass has no hook point '{name}'.");
    }
}
