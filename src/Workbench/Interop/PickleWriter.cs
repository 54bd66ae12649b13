using System.Buffers.Binary;
using System.Text;
using static TorchSharp.torch;

namespace Workbench.Interop;

/// <summary>
/// Writes plain values as a protocol-2 pickle the way torch.save lays out a state dict: a <see cref="PyDict"/> (an
/// OrderedDict when <see cref="PyDict.Ordered"/>, else a dict), lists, <see cref="PyTuple"/>s, strings, integers,
/// doubles, bools, None, and tensors as <c>torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride,
/// False, OrderedDict())</c>. Each tensor gets its own storage key ("0", "1", … in the order met); the caller writes
/// the storages' bytes (<see cref="Storages"/>). Only the opcodes PyTorch's weights_only unpickler knows are used
/// (it was written against PyTorch 1.13's list), so <c>torch.load(f, weights_only=True)</c> reads the result.
/// </summary>
public sealed class PickleWriter
{
    readonly MemoryStream output = new();
    readonly List<(string Key, Tensor Tensor)> storages = new();

    /// <summary>The tensors written, contiguous on the CPU, with their storage keys.</summary>
    public IReadOnlyList<(string Key, Tensor Tensor)> Storages => storages;

    /// <summary>The pickle of <paramref name="value"/>; the tensors it holds are in <see cref="Storages"/>.</summary>
    public byte[] Write(object? value)
    {
        output.SetLength(0);
        storages.Clear();
        output.Write(new byte[] { 0x80, 2 });
        Value(value);
        output.WriteByte((byte)'.');
        return output.ToArray();
    }

    void Op(char c) => output.WriteByte((byte)c);

    void Value(object? v)
    {
        switch (v)
        {
            case null: Op('N'); break;
            case bool b: output.WriteByte(b ? (byte)0x88 : (byte)0x89); break;
            case int i: Integer(i); break;
            case long l: Integer(l); break;
            case double d:
                Op('G');
                Span<byte> buf = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleBigEndian(buf, d);
                output.Write(buf);
                break;
            case string s: String(s); break;
            case PyTuple t:
                Op('(');
                foreach (var item in t.Items) Value(item);
                Op('t');
                break;
            case List<object?> list:
                Op(']');
                if (list.Count > 0)
                {
                    Op('(');
                    foreach (var item in list) Value(item);
                    Op('e');
                }
                break;
            case PyDict dict:
                if (dict.Ordered) { Global("collections", "OrderedDict"); Op(')'); Op('R'); }
                else Op('}');
                if (dict.Count > 0)
                {
                    Op('(');
                    foreach (var (k, item) in dict.Items) { Value(k); Value(item); }
                    Op('u');
                }
                break;
            case Tensor t: Tensor(t); break;
            default: throw new ArgumentException($"PickleWriter: cannot write a {v.GetType().Name}");
        }
    }

    void Integer(long l)
    {
        if (l >= 0 && l < 256) { Op('K'); output.WriteByte((byte)l); }
        else if (l >= int.MinValue && l <= int.MaxValue)
        {
            Op('J');
            Span<byte> buf = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(buf, (int)l);
            output.Write(buf);
        }
        else
        {
            output.WriteByte(0x8a);                                   // LONG1, 8 bytes two's complement
            output.WriteByte(8);
            Span<byte> buf = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(buf, l);
            output.Write(buf);
        }
    }

    void String(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        Op('X');
        Span<byte> buf = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(buf, bytes.Length);
        output.Write(buf);
        output.Write(bytes);
    }

    void Global(string module, string name)
    {
        Op('c');
        output.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    void Tensor(Tensor t)
    {
        var storageType = PickleReader.StorageTypes.FirstOrDefault(kv => kv.Value == t.dtype).Key
            ?? throw new ArgumentException($"PickleWriter: tensors of type {t.dtype} have no torch storage class");
        var data = t.detach().cpu().contiguous();
        string key = storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        storages.Add((key, data));
        var size = t.shape;
        var stride = new long[size.Length];
        long s = 1;
        for (int i = size.Length - 1; i >= 0; i--) { stride[i] = s; s *= size[i]; }
        Global("torch._utils", "_rebuild_tensor_v2");
        Op('(');
        Op('(');                                                       // the persistent id tuple
        String("storage");
        Global("torch", storageType);
        String(key);
        String("cpu");
        Integer(data.numel());
        Op('t');
        Op('Q');                                                       // BINPERSID
        Integer(0);
        Value(new PyTuple(size.Select(x => (object?)x).ToArray()));
        Value(new PyTuple(stride.Select(x => (object?)x).ToArray()));
        Value(false);
        Global("collections", "OrderedDict"); Op(')'); Op('R');
        Op('t');
        Op('R');
    }
}
