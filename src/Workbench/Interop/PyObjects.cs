using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// A Python dict or collections.OrderedDict read from a pickle: its items in insertion order (what torch.save keeps
/// for state dicts). Keys are strings, integers (optimizer states), or tuples; look-ups by string key.
/// </summary>
public sealed class PyDict
{
    readonly List<KeyValuePair<object, object?>> items = new();
    readonly Dictionary<object, int> index = new();

    /// <summary>True for a collections.OrderedDict (written back as one), false for a plain dict.</summary>
    public bool Ordered { get; init; }

    public IReadOnlyList<KeyValuePair<object, object?>> Items => items;
    public int Count => items.Count;
    public IEnumerable<object> Keys => items.Select(kv => kv.Key);

    /// <summary>Sets a key (Python semantics: a repeated key keeps its first position and takes the new value).</summary>
    public void Set(object key, object? value)
    {
        if (index.TryGetValue(key, out int i)) items[i] = new(key, value);
        else { index[key] = items.Count; items.Add(new(key, value)); }
    }

    public bool TryGet(object key, out object? value)
    {
        if (index.TryGetValue(key, out int i)) { value = items[i].Value; return true; }
        value = null;
        return false;
    }

    public object? this[string key] => TryGet(key, out var v) ? v : throw new KeyNotFoundException($"no key '{key}'");
}

/// <summary>A Python tuple read from a pickle (lists are <see cref="List{T}"/> of object?).</summary>
public sealed record PyTuple(IReadOnlyList<object?> Items);

/// <summary>A pickled global the reader accepts (one of <see cref="PickleReader.AllowedGlobals"/>), before it is called.</summary>
public sealed record PyGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A storage of a torch zip archive: its record key (<c>data/KEY</c>), element type and element count.</summary>
public sealed record TorchStorageRef(string Key, ScalarType DType, long Numel);

/// <summary>A tensor as torch._utils._rebuild_tensor_v2 describes it: a strided view of a storage.</summary>
public sealed record TorchTensorRef(TorchStorageRef Storage, long Offset, long[] Size, long[] Stride);
