using System.Text.Json.Nodes;
using System.Text;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Workbench.Nn;

namespace Workbench.Training;

/// <summary>A checkpoint does not fit what it is loaded into: another config, or missing, extra or reshaped tensors.</summary>
public sealed class CheckpointMismatchException(string message) : IOException(message);

/// <summary>What a checkpoint's header says: the step, the config record (type and JSON) and all metadata.</summary>
public sealed record CheckpointInfo(string Path, long Step, string? ConfigType, string? ConfigJson,
    IReadOnlyList<string> Modules, IReadOnlyList<string> Optimizers, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The stored config record, deserialized (e.g. <c>info.Config&lt;GlowConfig&gt;()</c>).</summary>
    public T Config<T>()
    {
        if (ConfigJson is null) throw new InvalidDataException($"{Path}: the checkpoint stores no config");
        return JsonSerializer.Deserialize<T>(ConfigEvolution.Upgrade(ConfigJson, typeof(T), new List<string>()), Checkpoint.JsonOptions)
               ?? throw new InvalidDataException($"{Path}: the stored config is null");
    }

    /// <summary>The stored run config's model and training records (from a <see cref="Training.RunConfig"/>, or from a
    /// model record that also held the training fields, as StyleGAN2 checkpoints did before 2026-12-07).</summary>
    public (TModel Model, TTraining Training) RunConfig<TModel, TTraining>()
    {
        if (ConfigJson is null) throw new InvalidDataException($"{Path}: the checkpoint stores no config");
        var stored = JsonNode.Parse(ConfigJson) as JsonObject ?? throw new InvalidDataException($"{Path}: the stored config is not a JSON object");
        stored = ConfigType == typeof(RunConfig).FullName
            ? ConfigEvolution.MoveTrainingFields(stored, typeof(TModel), typeof(TTraining))
            : ConfigEvolution.AsRunConfig(stored, typeof(TModel), typeof(TTraining));
        T Read<T>(string key) => ConfigEvolution.Upgrade(stored[key], typeof(T), new List<string>())!.Deserialize<T>(Checkpoint.JsonOptions)
                                 ?? throw new InvalidDataException($"{Path}: the stored config's {key} is null");
        return (Read<TModel>("Model"), Read<TTraining>("Training"));
    }
}

/// <summary>
/// Checkpoints as safetensors files (<see cref="SafeTensors"/>): any set of tensors plus string metadata, or, with
/// the module helpers, named modules' state dicts (parameters and persistent buffers, keys
/// <c>&lt;module&gt;.&lt;state-dict key&gt;</c>, e.g. <c>model.conv1.weight</c> or <c>G_ema.mapping.fc0.weight</c>),
/// optimizers' complete state (TorchSharp's own serialization of step counts, moments and options, stored as a
/// U8 tensor <c>optim/&lt;name&gt;</c>, so a resumed run continues bit for bit), the config record as JSON
/// (<c>config</c>, <c>config_type</c>), the <c>step</c> and any extra string entries (data settings, seeds…).
/// Writes are atomic (temporary file, then rename). Loading refuses a different config type or value and
/// missing, unexpected or reshaped tensors with a message naming the file and the keys.
/// </summary>
public static class Checkpoint
{
    /// <summary>Metadata keys the module helpers write.</summary>
    public const string FormatKey = "format", ConfigKey = "config", ConfigTypeKey = "config_type", StepKey = "step",
        ModulesKey = "modules", OptimizersKey = "optimizers", OptimizerPrefix = "optim/", CreatedKey = "created_utc",
        TorchSharpKey = "torchsharp_version", RngKey = "rng/cpu";

    /// <summary>The value of <see cref="FormatKey"/> in files written by <see cref="SaveModules"/>.</summary>
    public const string FormatValue = "workbench-checkpoint-1";

    /// <summary>How config records become JSON: enums by name, fields included, NaN/Infinity allowed.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        Converters = { new JsonStringEnumConverter() },
        IncludeFields = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    // ---- plain tensors ----------------------------------------------------------------------------------------

    /// <summary>Writes tensors and metadata as a safetensors file (atomically).</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensors.Write(path, tensors, metadata);

    /// <summary>Reads every tensor (on the CPU unless <paramref name="device"/> is given) and the metadata. The caller owns the tensors.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path, Device? device = null) =>
        SafeTensors.Read(path, device);

    // ---- modules and optimizers -------------------------------------------------------------------------------

    /// <summary>Saves one module (as <c>model.*</c>), its config, the step and optionally its optimizer (as <c>optim/optimizer</c>).</summary>
    public static void SaveModule(string path, nn.Module module, object? config = null, long step = 0,
        optim.Optimizer? optimizer = null, IReadOnlyDictionary<string, string>? extra = null, bool saveRngState = false) =>
        SaveModules(path, new Dictionary<string, nn.Module> { ["model"] = module },
            optimizer is null ? null : new Dictionary<string, optim.Optimizer> { ["optimizer"] = optimizer }, config, step, extra, saveRngState);

    /// <summary>Loads what <see cref="SaveModule"/> wrote into <paramref name="module"/> (and <paramref name="optimizer"/>).</summary>
    public static CheckpointInfo LoadModule(string path, nn.Module module, object? expectedConfig = null, optim.Optimizer? optimizer = null,
        bool restoreRngState = false, IReadOnlyCollection<string>? mayDiffer = null) =>
        LoadModules(path, new Dictionary<string, nn.Module> { ["model"] = module },
            optimizer is null ? null : new Dictionary<string, optim.Optimizer> { ["optimizer"] = optimizer }, expectedConfig, restoreRngState, mayDiffer);

    /// <summary>
    /// Saves several named modules and optimizers in one file, e.g. StyleGAN2's
    /// <c>{ ["G"] = g, ["D"] = d, ["G_ema"] = gEma }</c> with <c>{ ["G"] = optG, ["D"] = optD }</c>.
    /// </summary>
    /// <remarks><c>saveRngState</c> also stores libtorch's CPU generator state (<c>rng/cpu</c>), for runs that must resume
    /// bit for bit although they draw random numbers each step (dequantization noise, GAN latents).</remarks>
    public static void SaveModules(string path, IReadOnlyDictionary<string, nn.Module> modules,
        IReadOnlyDictionary<string, optim.Optimizer>? optimizers = null, object? config = null, long step = 0,
        IReadOnlyDictionary<string, string>? extra = null, bool saveRngState = false)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FormatKey] = FormatValue,
            [StepKey] = step.ToString(CultureInfo.InvariantCulture),
            [ModulesKey] = string.Join(",", modules.Keys),
            [OptimizersKey] = string.Join(",", optimizers?.Keys ?? Enumerable.Empty<string>()),
        };
        metadata[CreatedKey] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        metadata[TorchSharpKey] = typeof(torch).Assembly.GetName().Version?.ToString() ?? "";
        if (config is not null)
        {
            metadata[ConfigTypeKey] = config.GetType().FullName ?? config.GetType().Name;
            metadata[ConfigKey] = ConfigToJson(path, config);
        }
        if (extra is not null)
            foreach (var (k, v) in extra)
            {
                if (metadata.ContainsKey(k) || k.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                    throw new ArgumentException($"{path}: extra metadata key '{k}' is reserved by the checkpoint format", nameof(extra));
                metadata[k] = v;
            }

        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, module) in modules)
        {
            CheckName(path, name, "module");
            foreach (var (key, t) in module.state_dict()) tensors[$"{name}.{key}"] = t;
        }
        if (optimizers is not null)
            foreach (var (name, opt) in optimizers)
            {
                CheckName(path, name, "optimizer");
                tensors[OptimizerPrefix + name] = tensor(OptimizerBytes(path, name, opt));
                metadata[$"{OptimizerPrefix}{name}.type"] = opt.GetType().Name;
            }
        if (saveRngState) tensors[RngKey] = random.get_rng_state();
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>
    /// Loads modules (and optimizers) saved by <see cref="SaveModules"/>. Each requested module must be in the file
    /// with exactly its keys and shapes (the file may hold more modules than requested: load only G_ema to sample).
    /// With <paramref name="expectedConfig"/>, the stored config must have the same type and the same values, except
    /// for the fields named in <paramref name="mayDiffer"/> (settings such as the learning rate that a resumed run may
    /// change). Every tensor must have the module's shape and dtype. Tensors are copied into the modules' own
    /// parameters and buffers, on whatever device those live.
    /// </summary>
    /// <remarks><c>restoreRngState</c> sets libtorch's CPU generator to the state saved with <c>saveRngState</c>.</remarks>
    public static CheckpointInfo LoadModules(string path, IReadOnlyDictionary<string, nn.Module> modules,
        IReadOnlyDictionary<string, optim.Optimizer>? optimizers = null, object? expectedConfig = null, bool restoreRngState = false,
        IReadOnlyCollection<string>? mayDiffer = null)
    {
        var info = ReadInfo(path);
        if (expectedConfig is not null) CheckConfig(info, expectedConfig, mayDiffer);

        var (tensors, _) = SafeTensors.Read(path);
        try
        {
            var problems = new List<string>();
            var plan = new List<(Tensor Target, Tensor Source)>();
            foreach (var (name, module) in modules)
            {
                var prefix = name + ".";
                var stored = tensors.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
                if (stored.Count == 0 && !info.Modules.Contains(name))
                {
                    problems.Add($"module '{name}' is not in the file (it has: {string.Join(", ", info.Modules)})");
                    continue;
                }
                var own = module.state_dict();
                var missing = own.Keys.Where(k => !stored.Contains(prefix + k)).ToList();
                var unexpected = stored.Where(k => !own.ContainsKey(k[prefix.Length..])).OrderBy(k => k, StringComparer.Ordinal).ToList();
                if (missing.Count > 0) problems.Add($"missing in the file: {string.Join(", ", missing.Select(k => prefix + k))}");
                if (unexpected.Count > 0) problems.Add($"not in module '{name}': {string.Join(", ", unexpected)}");
                foreach (var (key, target) in own)
                {
                    if (!tensors.TryGetValue(prefix + key, out var source)) continue;
                    if (!source.shape.SequenceEqual(target.shape))
                        problems.Add($"{prefix}{key}: file has shape {Shapes.Of(source)}, module has {Shapes.Of(target)}");
                    else if (source.dtype != target.dtype)
                        problems.Add($"{prefix}{key}: file has dtype {SafeTensors.DTypeName(source.dtype)}, module has {SafeTensors.DTypeName(target.dtype)}");
                    else plan.Add((target, source));
                }
            }
            if (optimizers is not null)
                foreach (var (name, _) in optimizers)
                    if (!tensors.ContainsKey(OptimizerPrefix + name))
                        problems.Add($"optimizer '{name}' is not in the file (it has: {string.Join(", ", info.Optimizers)})");
            if (restoreRngState && !tensors.ContainsKey(RngKey))
                problems.Add("no generator state in the file (save it with saveRngState: true)");
            else if (restoreRngState && GeneratorStateProblem(tensors[RngKey]) is { } rngProblem)
                throw new InvalidDataException($"{path}: corrupt: {RngKey} {rngProblem} (use an intact copy)");
            if (problems.Count > 0)
                throw new CheckpointMismatchException($"{path} does not match what it is loaded into:" +
                    (problems.Count == 1 ? " " + problems[0] : "\n  " + string.Join("\n  ", problems)));

            using (no_grad())
                foreach (var (target, source) in plan) target.copy_(source);

            if (optimizers is not null)
                foreach (var (name, opt) in optimizers)
                {
                    if (info.Metadata.TryGetValue($"{OptimizerPrefix}{name}.type", out var type) && type != opt.GetType().Name)
                        throw new CheckpointMismatchException($"{path}: optimizer '{name}' was saved from {type}, not {opt.GetType().Name}");
                    LoadOptimizer(path, name, opt, tensors[OptimizerPrefix + name]);
                }
            if (restoreRngState) random.set_rng_state(tensors[RngKey]);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return info;
    }

    /// <summary>
    /// Why <paramref name="state"/> cannot be libtorch's CPU generator state, or null. libtorch aborts the process
    /// (instead of throwing) on some invalid states, so the layout of its CPUGeneratorImplState is checked first: uint8,
    /// the size <c>get_rng_state</c> returns (5,056 bytes), the Mersenne Twister's position <c>left</c> in 1..624 (an
    /// int at byte 8, after the 8-byte initial seed) and the flags <c>seeded</c> (int at byte 12),
    /// <c>normal_is_valid</c> (int at byte 5,040, after the 624-word state and three doubles) and the float-normal
    /// flag (byte 5,052) each 0 or 1.
    /// </summary>
    internal static string? GeneratorStateProblem(Tensor state)
    {
        if (state.dtype != ScalarType.Byte || state.dim() != 1) return $"is {SafeTensors.DTypeName(state.dtype)} {Shapes.Of(state)}, not a byte vector";
        using var reference = random.get_rng_state();
        if (state.shape[0] != reference.shape[0]) return $"holds {state.shape[0]} bytes, libtorch's generator state {reference.shape[0]}";
        var b = state.cpu().bytes;
        if (b.Length < 5053) return null;   // another layout: leave the size check to libtorch
        int left = BinaryPrimitives.ReadInt32LittleEndian(b[8..]), seeded = BinaryPrimitives.ReadInt32LittleEndian(b[12..]),
            normalValid = BinaryPrimitives.ReadInt32LittleEndian(b[5040..]);
        if (left is < 1 or > 624) return $"is damaged (the Mersenne Twister position is {left}, not 1..624)";
        if (normalValid is not (0 or 1) || seeded is not (0 or 1) || b[5052] > 1) return "is damaged (a flag is neither 0 nor 1)";
        return null;
    }

    /// <summary>Reads only the header: step, config, module and optimizer names, metadata. In a file written by
    /// <see cref="SaveModules"/> (its <see cref="FormatKey"/> says so) the fields a resume needs are required: a step
    /// that is a whole number ≥ 0, and the module and optimizer lists; a missing or garbled one is an error naming it.
    /// (Other safetensors files, e.g. weights written elsewhere, have no step and read as step 0.)</summary>
    public static CheckpointInfo ReadInfo(string path)
    {
        var header = SafeTensors.ReadHeader(path);
        var md = header.Metadata;
        bool ours = md.TryGetValue(FormatKey, out var format) && format.StartsWith("workbench-checkpoint-", StringComparison.Ordinal);
        if (ours)
            foreach (var key in new[] { StepKey, ModulesKey, OptimizersKey })
                if (!md.ContainsKey(key))
                    throw new InvalidDataException($"{path}: corrupt: its metadata has no '{key}' (a {format} file always has one; use an intact copy)");
        long step = 0;
        if (md.TryGetValue(StepKey, out var s) && !(long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out step) && step >= 0))
            throw new InvalidDataException($"{path}: corrupt: its metadata's step is '{(s.Length > 24 ? s[..24] + "…" : s)}', not a whole number ≥ 0");
        static string[] List(IReadOnlyDictionary<string, string> m, string key) =>
            m.TryGetValue(key, out var x) && x.Length > 0 ? x.Split(',') : Array.Empty<string>();
        return new CheckpointInfo(path, step, md.GetValueOrDefault(ConfigTypeKey), md.GetValueOrDefault(ConfigKey),
            List(md, ModulesKey), List(md, OptimizersKey), md);
    }

    /// <summary>The config record stored in a checkpoint (to rebuild the model before loading it).</summary>
    public static T ReadConfig<T>(string path) => ReadInfo(path).Config<T>();

    static void CheckName(string path, string name, string what)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.') || name.Contains('/') || name.Contains(','))
            throw new ArgumentException($"{path}: {what} name '{name}' must be non-empty without '.', '/' or ','");
    }

    /// <summary>
    /// Checks, from the header alone, that the checkpoint at <paramref name="path"/> was saved with
    /// <paramref name="expected"/>'s config (type and values; the fields named in <paramref name="mayDiffer"/> may
    /// differ), so a mismatch is found before a model is built. Throws <see cref="CheckpointMismatchException"/>
    /// naming each differing field with both values.
    /// </summary>
    public static CheckpointInfo VerifyConfig(string path, object expected, IReadOnlyCollection<string>? mayDiffer = null)
    {
        var info = ReadInfo(path);
        CheckConfig(info, expected, mayDiffer);
        return info;
    }

    static void CheckConfig(CheckpointInfo info, object expected, IReadOnlyCollection<string>? mayDiffer)
    {
        var type = expected.GetType().FullName ?? expected.GetType().Name;
        if (info.ConfigType is null || info.ConfigJson is null)
            throw new CheckpointMismatchException($"{info.Path}: the checkpoint stores no config, but a {type} was expected");
        var stored = info.ConfigJson;
        if (expected is RunConfig run && info.ConfigType == run.Model.GetType().FullName)
        {
            // its model record alone, holding the training fields too (written before they had their own record)
            try { stored = ConfigEvolution.AsRunConfig(JsonNode.Parse(stored), run.Model.GetType(), run.Training.GetType()).ToJsonString(); }
            catch (JsonException) { }
        }
        else if (info.ConfigType != type)
            throw new CheckpointMismatchException($"{info.Path}: the checkpoint was saved with a {info.ConfigType}, not a {type}");
        var json = ConfigToJson(info.Path, expected);
        if (json == stored) return;
        // a file written before a field was added: compare with the value that reproduces what it was written with
        try { stored = ConfigEvolution.Upgrade(stored, expected.GetType(), new List<string>(), expected); }
        catch (JsonException) { }
        var diffs = DiffJson(stored, json);
        if (diffs is null)
            throw new CheckpointMismatchException($"{info.Path}: the checkpoint's {type} is not readable JSON");
        var refused = diffs.Where(d => mayDiffer is null || !mayDiffer.Contains(d.Field[(d.Field.LastIndexOf('.') + 1)..], StringComparer.OrdinalIgnoreCase)).ToList();
        if (refused.Count == 0) return;
        throw new CheckpointMismatchException(
            $"{info.Path}: the checkpoint's config differs from the expected one in {refused.Count} field(s): " +
            string.Join("; ", refused.Select(d => $"{d.Field}: file {d.Stored}, expected {d.Expected}")));
    }

    static string ConfigToJson(string path, object config)
    {
        try { return JsonSerializer.Serialize(config, config.GetType(), JsonOptions); }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException)
        {
            throw new ArgumentException(
                $"{path}: the config ({config.GetType().Name}) cannot be written as JSON: {e.Message} Keep config records to plain values (numbers, strings, enums, arrays, nested records).", nameof(config), e);
        }
    }

    /// <summary>
    /// The leaf fields that differ between two JSON documents, by dotted path (<c>Model.HiddenChannels</c>), with
    /// both values as JSON text; null when either is not JSON.
    /// </summary>
    public static List<(string Field, string Stored, string Expected)>? DiffJson(string stored, string expected)
    {
        var diffs = new List<(string, string, string)>();
        try
        {
            using var a = JsonDocument.Parse(stored);
            using var b = JsonDocument.Parse(expected);
            Diff("", a.RootElement, b.RootElement, diffs);
        }
        catch (JsonException) { return null; }
        return diffs;

        static void Diff(string at, JsonElement x, JsonElement y, List<(string, string, string)> into)
        {
            if (x.ValueKind == JsonValueKind.Object && y.ValueKind == JsonValueKind.Object)
            {
                var xs = x.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                var ys = y.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                foreach (var k in xs.Keys.Union(ys.Keys))
                {
                    var path = at.Length == 0 ? k : $"{at}.{k}";
                    if (!xs.TryGetValue(k, out var xv)) into.Add((path, "(absent)", ys[k].GetRawText()));
                    else if (!ys.TryGetValue(k, out var yv)) into.Add((path, xv.GetRawText(), "(absent)"));
                    else Diff(path, xv, yv, into);
                }
            }
            else if (x.GetRawText() != y.GetRawText()) into.Add((at.Length == 0 ? "(config)" : at, x.GetRawText(), y.GetRawText()));
        }
    }

    static byte[] OptimizerBytes(string path, string name, optim.Optimizer opt)
    {
        if (opt is not OptimizerHelper helper)
            throw new NotSupportedException($"{path}: optimizer '{name}' ({opt.GetType().Name}) cannot be saved: only TorchSharp's managed optimizers (Adam, AdamW, Adamax, SGD, RMSprop, …) expose their state");
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
            helper.save_state_dict(w);
        return ms.ToArray();
    }

    static void LoadOptimizer(string path, string name, optim.Optimizer opt, Tensor blob) => LoadOptimizer(path, name, opt, blob, stageAll: false);

    /// <summary>
    /// TorchSharp's optimizer loader writes bytes straight into the existing state tensors, which is only valid for
    /// CPU memory. State on a GPU is therefore staged: every tensor field of each parameter's state (exp_avg,
    /// exp_avg_sq, momentum_buffer, …) is swapped for a CPU copy, loaded, and moved back to its device.
    /// <paramref name="stageAll"/> forces the staging path on the CPU too (for tests).
    /// </summary>
    internal static void LoadOptimizer(string path, string name, optim.Optimizer opt, Tensor blob, bool stageAll)
    {
        if (opt is not OptimizerHelper helper)
            throw new NotSupportedException($"{path}: optimizer '{name}' ({opt.GetType().Name}) cannot be restored");
        var staged = new List<(object State, System.Reflection.FieldInfo Field, Device Device)>();
        foreach (var state in helper.state_dict().State)
            foreach (var f in state.GetType().GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
            {
                if (f.FieldType != typeof(Tensor) || f.GetValue(state) is not Tensor t) continue;
                if (t.device_type == DeviceType.CPU && !stageAll) continue;
                var device = t.device;
                var cpuCopy = t.detach().to(CPU, copy: true).DetachFromDisposeScope();
                f.SetValue(state, cpuCopy);
                t.Dispose();
                staged.Add((state, f, device));
            }
        var flagsBefore = opt.ParamGroups.Select(Flags).ToList();
        var bytes = blob.bytes.ToArray();
        using var ms = new MemoryStream(bytes);
        using var r = new BinaryReader(ms);
        try { helper.load_state_dict(r); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException or InvalidOperationException
                                      or NotImplementedException or NullReferenceException or IndexOutOfRangeException or OverflowException)
        {
            throw new CheckpointMismatchException($"{path}: the state of optimizer '{name}' does not fit this {opt.GetType().Name} or is corrupt: {Printable(e.Message)}");
        }
        finally
        {
            foreach (var (state, f, device) in staged)
            {
                if (f.GetValue(state) is not Tensor c) continue;
                var back = c.to(device, copy: true).DetachFromDisposeScope();
                f.SetValue(state, back);
                c.Dispose();
            }
        }
        if (ms.Position != ms.Length)
            throw new CheckpointMismatchException($"{path}: the state of optimizer '{name}' has {ms.Length - ms.Position} bytes left over (a different parameter set?)");
        // TorchSharp reads flags (amsgrad, …) and tensors from the blob without checking them against each other, so a
        // corrupt blob can load "successfully" into a state the next step crashes on. Writing the loaded state back
        // must reproduce the blob byte for byte.
        byte[] again;
        try { again = OptimizerBytes(path, name, opt); }
        catch (Exception e) when (e is NullReferenceException or ArgumentException or InvalidOperationException)
        {
            throw new CheckpointMismatchException($"{path}: the state of optimizer '{name}' is corrupt (it loads into an inconsistent {opt.GetType().Name}: {Printable(e.Message)})");
        }
        if (!again.AsSpan().SequenceEqual(bytes))
            throw new CheckpointMismatchException($"{path}: the state of optimizer '{name}' is corrupt (it does not read back as written)");
        // The blob's numbers (learning rate, betas, …) may differ from this optimizer's, its switches (amsgrad,
        // maximize, nesterov) may not: the per-parameter state they need would be missing.
        var groups = opt.ParamGroups.ToList();
        for (int g = 0; g < groups.Count; g++)
        {
            var options = Options(groups[g]).ToList();
            if (options.FirstOrDefault(o => o.Value is double d && !(double.IsFinite(d) && d >= 0)) is { Name: not null } bad)
                throw new CheckpointMismatchException($"{path}: the state of optimizer '{name}' is corrupt ({bad.Name} = {bad.Value})");
            foreach (var (flag, before) in flagsBefore[g])
                if (!Equals(before, Flags(groups[g]).GetValueOrDefault(flag)))
                    throw new CheckpointMismatchException(
                        $"{path}: the state of optimizer '{name}' sets {flag} = {Flags(groups[g]).GetValueOrDefault(flag)}, but this {opt.GetType().Name} has {before} (a corrupt file, or another optimizer setup)");
        }
    }

    /// <summary>A message that may quote bytes read from a damaged blob, made safe for a terminal: at most
    /// <paramref name="max"/> characters, control and non-ASCII characters as \xNN.</summary>
    internal static string Printable(string message, int max = 120)
    {
        var sb = new StringBuilder();
        foreach (var c in message)
        {
            if (sb.Length >= max) { sb.Append('…'); break; }
            if (c is >= ' ' and <= '~') sb.Append(c);
            else sb.Append(c < 256 ? $"\\x{(int)c:x2}" : "?");
        }
        return sb.ToString();
    }

    /// <summary>A parameter group's hyper-parameters (public properties and fields of the group and its options), by name.</summary>
    static IEnumerable<(string Name, object? Value)> Options(object group)
    {
        const System.Reflection.BindingFlags flags = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance;
        var holders = group.GetType().GetProperties(flags).Where(p => p.Name == "Options" && p.GetIndexParameters().Length == 0)
            .Select(p => p.GetValue(group)).Where(o => o is not null).Prepend(group).Distinct();
        foreach (var h in holders)
        {
            foreach (var p in h!.GetType().GetProperties(flags).Where(p => p.GetIndexParameters().Length == 0 && p.PropertyType.IsValueType))
                yield return (p.Name, p.GetValue(h));
            foreach (var f in h.GetType().GetFields(flags).Where(f => f.FieldType.IsValueType))
                yield return (f.Name, f.GetValue(h));
        }
    }

    /// <summary>The on/off switches of a parameter group (amsgrad, maximize, …).</summary>
    static Dictionary<string, object?> Flags(object group)
    {
        var d = new Dictionary<string, object?>();
        foreach (var (n, v) in Options(group)) if (v is bool) d.TryAdd(n, v);
        return d;
    }
}
