using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// A restricted reader of Python's pickle format (protocols 2–5, the binary opcodes torch.save writes) that builds
/// plain values and never calls anything: dicts (<see cref="PyDict"/>), lists, tuples (<see cref="PyTuple"/>), integers
/// (long, or BigInteger when wider), floats, strings, bytes, None, bools, and tensors as <see cref="TorchTensorRef"/>.
/// A GLOBAL opcode naming anything outside <see cref="AllowedGlobals"/> stops the read at once with an
/// <see cref="UnsafeCheckpointException"/> naming the file and the global (the same list as PyTorch's
/// <c>torch.load(weights_only=True)</c>, narrowed to what state dicts use), so a pickled <c>os.system</c> or a
/// class with a <c>__reduce__</c> is refused before it is built. Persistent ids are torch's storage tuples
/// <c>('storage', torch.FloatStorage, key, location, numel)</c>.
/// Format reference: CPython's Lib/pickletools.py (opcode table) and torch/serialization.py (persistent ids).
/// </summary>
public sealed class PickleReader
{
    /// <summary>The storage classes torch.save names in persistent ids, with their element types.</summary>
    public static readonly IReadOnlyDictionary<string, ScalarType> StorageTypes = new Dictionary<string, ScalarType>
    {
        ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    /// <summary>Every global a checkpoint may name: OrderedDict, the tensor rebuild functions and the storage classes.</summary>
    public static readonly IReadOnlySet<string> AllowedGlobals = new HashSet<string>(
        new[] { "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter" }
            .Concat(StorageTypes.Keys.Select(k => "torch." + k)));

    static readonly object Mark = new();

    readonly byte[] data;
    readonly string file;
    int pos;
    readonly List<object?> stack = new();
    readonly List<int> marks = new();
    readonly Dictionary<long, object?> memo = new();

    PickleReader(byte[] data, string file)
    {
        this.data = data;
        this.file = file;
    }

    /// <summary>Reads one pickled object from <paramref name="data"/>; <paramref name="file"/> names the source in errors.</summary>
    public static object? Read(byte[] data, string file) => new PickleReader(data, file).Run();

    InvalidDataException Bad(string what) => new($"{file}: not a readable pickle ({what} at byte {pos})");

    object? Run()
    {
        while (true)
        {
            if (pos >= data.Length) throw Bad("ends before STOP");
            byte op = data[pos++];
            switch (op)
            {
                case 0x80: pos++; break;                                   // PROTO
                case 0x95: pos += 8; break;                                // FRAME
                case (byte)'.': return Pop();                              // STOP
                case (byte)'(': marks.Add(stack.Count); stack.Add(Mark); break;
                case (byte)'}': stack.Add(new PyDict()); break;            // EMPTY_DICT
                case (byte)']': stack.Add(new List<object?>()); break;     // EMPTY_LIST
                case (byte)')': stack.Add(new PyTuple(Array.Empty<object?>())); break;
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': stack.Add((long)Take(1)[0]); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: stack.Add(Long(Take(Take(1)[0]))); break;       // LONG1
                case 0x8b: stack.Add(Long(Take(Length(4)))); break;        // LONG4
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'X': stack.Add(Utf8(Length(4))); break;         // BINUNICODE
                case 0x8c: stack.Add(Utf8(Take(1)[0])); break;             // SHORT_BINUNICODE
                case 0x8d: stack.Add(Utf8(Length(8))); break;              // BINUNICODE8
                case (byte)'T': stack.Add(Latin1(Length(4))); break;       // BINSTRING (Python 2 str)
                case (byte)'U': stack.Add(Latin1(Take(1)[0])); break;      // SHORT_BINSTRING
                case (byte)'B': stack.Add(Take(Length(4)).ToArray()); break;
                case (byte)'C': stack.Add(Take(Take(1)[0]).ToArray()); break;
                case 0x8e: stack.Add(Take(Length(8)).ToArray()); break;
                case (byte)'q': memo[Take(1)[0]] = Peek(); break;          // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                case 0x94: memo[memo.Count] = Peek(); break;               // MEMOIZE
                case (byte)'h': stack.Add(Memo(Take(1)[0])); break;        // BINGET
                case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case (byte)'t': stack.Add(new PyTuple(PopMark())); break;
                case 0x85: stack.Add(new PyTuple(PopN(1))); break;
                case 0x86: stack.Add(new PyTuple(PopN(2))); break;
                case 0x87: stack.Add(new PyTuple(PopN(3))); break;
                case (byte)'c':                                            // GLOBAL "module\nname\n"
                {
                    string module = Line(), name = Line();
                    stack.Add(Global(module, name));
                    break;
                }
                case 0x93:                                                 // STACK_GLOBAL
                {
                    var name = Pop() as string ?? throw Bad("STACK_GLOBAL without a name");
                    var module = Pop() as string ?? throw Bad("STACK_GLOBAL without a module");
                    stack.Add(Global(module, name));
                    break;
                }
                case (byte)'Q': stack.Add(PersistentLoad(Pop())); break;   // BINPERSID
                case (byte)'R':                                            // REDUCE
                {
                    var args = Pop() as PyTuple ?? throw Bad("REDUCE without an argument tuple");
                    stack.Add(Call(Pop(), args.Items));
                    break;
                }
                case 0x81:                                                 // NEWOBJ
                {
                    var args = Pop() as PyTuple ?? throw Bad("NEWOBJ without an argument tuple");
                    stack.Add(Call(Pop(), args.Items));
                    break;
                }
                case (byte)'b':                                            // BUILD: state of an OrderedDict (_metadata)
                {
                    var state = Pop();
                    if (Peek() is not PyDict) throw Bad($"BUILD on a {Describe(Peek())}");
                    _ = state;                                             // the state dict's _metadata (versions): not needed
                    break;
                }
                case (byte)'s':                                            // SETITEM
                {
                    var value = Pop();
                    var key = Pop();
                    Dict(Peek()).Set(Key(key), value);
                    break;
                }
                case (byte)'u':                                            // SETITEMS
                {
                    var items = PopMark();
                    if (items.Count % 2 != 0) throw Bad("SETITEMS with an odd number of items");
                    var dict = Dict(Peek());
                    for (int i = 0; i < items.Count; i += 2) dict.Set(Key(items[i]), items[i + 1]);
                    break;
                }
                case (byte)'a':                                            // APPEND
                {
                    var value = Pop();
                    List(Peek()).Add(value);
                    break;
                }
                case (byte)'e':                                            // APPENDS
                {
                    var items = PopMark();
                    List(Peek()).AddRange(items);
                    break;
                }
                default:
                    throw Bad($"opcode 0x{op:x2} ('{(op is >= 32 and < 127 ? (char)op : '?')}'), which state dicts do not use");
            }
        }
    }

    /// <summary>Resolves a global by name: allowed ones become markers, anything else ends the read.</summary>
    object Global(string module, string name)
    {
        var full = $"{module}.{name}";
        if (!AllowedGlobals.Contains(full))
            throw new UnsafeCheckpointException(
                $"{file}: refused the pickled global '{full}' (a checkpoint may hold only tensors, dicts, lists, tuples, numbers, strings, None and bools; nothing in it is run)");
        return new PyGlobal(module, name);
    }

    /// <summary>Applies an allowed global to its arguments (the only "calls" the reader makes, all plain constructions).</summary>
    object Call(object? callable, IReadOnlyList<object?> args)
    {
        if (callable is not PyGlobal g) throw Bad($"a call of a {Describe(callable)}");
        switch (g.ToString())
        {
            case "collections.OrderedDict":
                var d = new PyDict { Ordered = true };
                if (args.Count > 0 && args[0] is List<object?> pairs)
                    foreach (var p in pairs)
                        if (p is PyTuple { Items.Count: 2 } t) d.Set(Key(t.Items[0]), t.Items[1]);
                return d;
            case "torch._utils._rebuild_tensor_v2":
                if (args.Count < 4 || args[0] is not TorchStorageRef s || args[1] is not long offset || args[2] is not PyTuple size || args[3] is not PyTuple stride)
                    throw Bad("_rebuild_tensor_v2 with arguments other than (storage, offset, size, stride, …)");
                return new TorchTensorRef(s, offset, Longs(size), Longs(stride));
            case "torch._utils._rebuild_parameter":
                if (args.Count < 1 || args[0] is not TorchTensorRef tensor) throw Bad("_rebuild_parameter without a tensor");
                return tensor;
            default:
                throw Bad($"a call of {g}, which is a storage class");
        }
    }

    object PersistentLoad(object? pid)
    {
        if (pid is not PyTuple { Items.Count: >= 5 } t || t.Items[0] as string != "storage"
            || t.Items[1] is not PyGlobal type || t.Items[2] is not string key || t.Items[4] is not long numel)
            throw Bad($"a persistent id other than ('storage', type, key, location, numel): {Describe(pid)}");
        if (!StorageTypes.TryGetValue(type.Name, out var dtype)) throw Bad($"storage type {type}");
        return new TorchStorageRef(key, dtype, numel);
    }

    long[] Longs(PyTuple t) => t.Items.Select(i => i is long l ? l : throw Bad("a tensor size or stride that is not an integer")).ToArray();

    object Key(object? key) => key switch
    {
        string or long or bool => key,
        PyTuple => key,
        _ => throw Bad($"a dict key that is a {Describe(key)}"),
    };

    PyDict Dict(object? o) => o as PyDict ?? throw Bad($"SETITEM on a {Describe(o)}");
    List<object?> List(object? o) => o as List<object?> ?? throw Bad($"APPEND on a {Describe(o)}");

    static string Describe(object? o) => o switch
    {
        null => "None",
        PyGlobal g => g.ToString(),
        PyTuple t => $"tuple of {t.Items.Count}",
        _ => o.GetType().Name,
    };

    ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || pos + n > data.Length) throw Bad($"{n} bytes past the end");
        var span = data.AsSpan(pos, n);
        pos += n;
        return span;
    }

    int Length(int bytes)
    {
        long n = bytes == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Take(4)) : BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        if (n < 0 || n > data.Length - pos) throw Bad($"a length of {n} past the end");
        return (int)n;
    }

    string Utf8(int n) => Encoding.UTF8.GetString(Take(n));
    string Latin1(int n) => Encoding.Latin1.GetString(Take(n));

    string Line()
    {
        int end = Array.IndexOf(data, (byte)'\n', pos);
        if (end < 0) throw Bad("a GLOBAL without its newline");
        var s = Encoding.ASCII.GetString(data, pos, end - pos);
        pos = end + 1;
        return s;
    }

    /// <summary>LONG1/LONG4: little-endian two's complement of any length (long when it fits).</summary>
    static object Long(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return 0L;
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        if (big >= long.MinValue && big <= long.MaxValue) return (long)big;   // (a ?: would widen the long to BigInteger)
        return big;
    }

    object? Memo(long key) => memo.TryGetValue(key, out var v) ? v : throw Bad($"memo key {key} that was never stored");

    object? Peek() => stack.Count > 0 && stack[^1] != Mark ? stack[^1] : throw Bad("an empty stack");

    object? Pop()
    {
        var v = Peek();
        stack.RemoveAt(stack.Count - 1);
        return v;
    }

    List<object?> PopN(int n)
    {
        if (stack.Count < n) throw Bad("too few items on the stack");
        var items = stack.GetRange(stack.Count - n, n);
        if (items.Any(i => i == Mark)) throw Bad("a MARK inside a tuple");
        stack.RemoveRange(stack.Count - n, n);
        return items;
    }

    List<object?> PopMark()
    {
        if (marks.Count == 0) throw Bad("no MARK");
        int m = marks[^1];
        marks.RemoveAt(marks.Count - 1);
        var items = stack.GetRange(m + 1, stack.Count - m - 1);
        stack.RemoveRange(m, stack.Count - m);
        return items;
    }
}
