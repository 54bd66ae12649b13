using System.Globalization;
using System.Text.Json;

namespace Workbench.Training;

/// <summary>
/// The one collector of a run's training statistics, name-keyed: a trainer's phases call
/// <c>Stats.Report("loss_d", value)</c> during a step; <see cref="EndStep"/> adds the step's reports to the current
/// interval; <see cref="Reduce"/> gives the mean of every series reported in the interval (each over the steps that
/// reported it: a lazy regulariser's every 16th step, say) and starts the next one. A step that throws never reaches
/// <see cref="EndStep"/>, so its reports are dropped. The open interval is part of the training state
/// (<see cref="SaveState"/>): a resumed run logs the same rows as one that was never stopped.
/// </summary>
public sealed class TrainingStats
{
    readonly Dictionary<string, double> _step = new();
    readonly List<string> _stepOrder = new();
    readonly Dictionary<string, (double Sum, long Count)> _interval = new();
    readonly List<string> _intervalOrder = new();

    /// <summary>Adds a value to series <paramref name="name"/> for the step in progress (a second report of the same
    /// name in one step replaces the first).</summary>
    public void Report(string name, double value)
    {
        if (!_step.ContainsKey(name)) _stepOrder.Add(name);
        _step[name] = value;
    }

    /// <summary>The values reported by the step in progress (or the last completed one), in report order.</summary>
    public IReadOnlyDictionary<string, double> StepValues => _stepOrder.ToDictionary(n => n, n => _step[n]);

    /// <summary>Starts a step: drops reports left by a step that did not complete.</summary>
    public void BeginStep()
    {
        _step.Clear();
        _stepOrder.Clear();
    }

    /// <summary>Adds the completed step's reports to the interval.</summary>
    public void EndStep()
    {
        foreach (var name in _stepOrder)
        {
            if (!_interval.TryGetValue(name, out var acc)) _intervalOrder.Add(name);
            _interval[name] = (acc.Sum + _step[name], acc.Count + 1);
        }
    }

    /// <summary>True when the interval holds reports that no row has logged yet.</summary>
    public bool Pending => _interval.Count > 0;

    /// <summary>The interval's mean of every series, in first-report order; the next interval starts empty.</summary>
    public (string Name, double Value)[] Reduce()
    {
        var row = _intervalOrder.Select(n => (n, _interval[n].Sum / _interval[n].Count)).ToArray();
        _interval.Clear();
        _intervalOrder.Clear();
        return row;
    }

    /// <summary>The open interval as text (JSON: name → [sum, count], in order), for a checkpoint's metadata.</summary>
    public string SaveState() => JsonSerializer.Serialize(
        _intervalOrder.ToDictionary(n => n, n => new[] { _interval[n].Sum.ToString("R", CultureInfo.InvariantCulture), _interval[n].Count.ToString(CultureInfo.InvariantCulture) }));

    /// <summary>Restores what <see cref="SaveState"/> wrote (null or empty: an empty interval).</summary>
    public void LoadState(string? state)
    {
        _interval.Clear();
        _intervalOrder.Clear();
        if (string.IsNullOrEmpty(state)) return;
        var entries = JsonSerializer.Deserialize<Dictionary<string, string[]>>(state)
                      ?? throw new InvalidDataException("training stats: not a JSON object");
        foreach (var (name, pair) in entries)
        {
            if (pair.Length != 2) throw new InvalidDataException($"training stats: '{name}' is not [sum, count]");
            _intervalOrder.Add(name);
            _interval[name] = (double.Parse(pair[0], CultureInfo.InvariantCulture), long.Parse(pair[1], CultureInfo.InvariantCulture));
        }
    }
}
