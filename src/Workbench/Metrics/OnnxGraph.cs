using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Metrics;

/// <summary>
/// An ONNX graph run by TorchSharp, so that it is differentiable: its initializers become frozen buffers and its nodes
/// are executed in order. Only the operators of the convolutional feature networks used here are implemented (Conv,
/// BatchNormalization in inference form, Relu, MaxPool, AveragePool, Add, Sub, Split, Concat); any other is refused by
/// name when the graph is opened. The batch dimension is free even where the file fixes it to 1.
/// </summary>
public sealed class OnnxGraph : nn.Module<Tensor, Tensor>
{
    readonly List<NodeProto> nodes;
    readonly Dictionary<string, Tensor> constants = new();
    readonly string input, output;

    static readonly HashSet<string> Supported = new() { "Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "Add", "Sub", "Split", "Concat" };

    /// <param name="path">the .onnx file (one input, one output).</param>
    /// <param name="globalPooling">run an AveragePool whose window covers its input as a mean over the spatial axes, so
    /// that the network takes other input sides than the one it was exported for (identical at that side).</param>
    public OnnxGraph(string path, bool globalPooling = false) : base(Path.GetFileNameWithoutExtension(path))
    {
        var model = ModelProto.Parser.ParseFromFile(path);
        var graph = model.Graph;
        GlobalPooling = globalPooling;
        foreach (var t in graph.Initializer)
        {
            var value = ToTensor(t, path);
            constants[t.Name] = value;
            register_buffer("c_" + constants.Count, value);
        }
        var inputs = graph.Input.Select(i => i.Name).Where(n => !constants.ContainsKey(n)).ToList();
        if (inputs.Count != 1 || graph.Output.Count != 1)
            throw new InvalidDataException($"{path}: expected one input and one output, found {inputs.Count} and {graph.Output.Count}");
        input = inputs[0];
        output = graph.Output[0].Name;
        nodes = graph.Node.ToList();
        if (nodes.FirstOrDefault(n => !Supported.Contains(n.OpType)) is { } other)
            throw new NotSupportedException($"{path}: operator {other.OpType} (node {other.Name}) is not implemented by OnnxGraph");
        if (nodes.FirstOrDefault(n => n.Attribute.Any(a => a.Name == "auto_pad" && a.S.ToStringUtf8() != "NOTSET")) is { } padded)
            throw new NotSupportedException($"{path}: node {padded.Name} uses auto_pad; only explicit pads are implemented by OnnxGraph");
        RegisterComponents();
    }

    /// <summary>Whether a whole-input AveragePool runs as a spatial mean (see the constructor).</summary>
    public bool GlobalPooling { get; }

    static Tensor ToTensor(TensorProto t, string path)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float)
            throw new InvalidDataException($"{path}: initializer {t.Name} has data type {t.DataType}; only float32 is read");
        float[] data = t.RawData.Length > 0
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray()
            : t.FloatData.ToArray();
        var dims = t.Dims.ToArray();
        if (data.Length != dims.Aggregate(1L, (a, b) => a * b))
            throw new InvalidDataException($"{path}: initializer {t.Name} holds {data.Length} values for shape [{string.Join(", ", dims)}]");
        return tensor(data, dims);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var values = new Dictionary<string, Tensor>(constants) { [input] = x };
        foreach (var node in nodes)
        {
            Tensor In(int i) => values[node.Input[i]];
            var results = Run(node, In, node.Input.Count);
            for (int i = 0; i < results.Length; i++) values[node.Output[i]] = results[i];
        }
        return values[output].MoveToOuterDisposeScope();
    }

    static long[] Ints(NodeProto node, string name, long[] fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.Ints.ToArray() : fallback;

    static long Int(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    static float Float(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    /// <summary>ONNX pads [top, left, bottom, right] applied explicitly (value for MaxPool's −∞).</summary>
    static Tensor Pad(Tensor x, long[] pads, double value = 0) =>
        pads.All(p => p == 0) ? x : nn.functional.pad(x, new[] { pads[1], pads[3], pads[0], pads[2] }, value: value);

    Tensor[] Run(NodeProto node, Func<int, Tensor> input, int count)
    {
        switch (node.OpType)
        {
            case "Conv":
            {
                var w = input(1);
                var strides = Ints(node, "strides", new long[] { 1, 1 });
                var dilations = Ints(node, "dilations", new long[] { 1, 1 });
                var pads = Ints(node, "pads", new long[] { 0, 0, 0, 0 });
                var x = Pad(input(0), pads);
                return new[] { nn.functional.conv2d(x, w, count > 2 ? input(2) : null, strides, new long[] { 0, 0 }, dilations, Int(node, "group", 1)) };
            }
            case "BatchNormalization":
            {
                // inference form: (x − mean) / √(var + ε) · scale + bias
                double eps = Float(node, "epsilon", 1e-5f);
                Tensor C(Tensor t) => t.reshape(1, -1, 1, 1);
                var scale = C(input(1)) * (C(input(4)) + eps).rsqrt();
                return new[] { (input(0) - C(input(3))) * scale + C(input(2)) };
            }
            case "Relu": return new[] { nn.functional.relu(input(0)) };
            case "MaxPool":
            {
                var kernel = Ints(node, "kernel_shape", Array.Empty<long>());
                var x = Pad(input(0), Ints(node, "pads", new long[] { 0, 0, 0, 0 }), double.NegativeInfinity);
                return new[] { nn.functional.max_pool2d(x, kernel, Ints(node, "strides", kernel)) };
            }
            case "AveragePool":
            {
                var kernel = Ints(node, "kernel_shape", Array.Empty<long>());
                var x = input(0);
                var pads = Ints(node, "pads", new long[] { 0, 0, 0, 0 });
                bool whole = pads.All(p => p == 0) && (kernel[0] == x.shape[2] && kernel[1] == x.shape[3] || GlobalPooling);
                if (whole) return new[] { x.mean(new long[] { 2, 3 }, keepdim: true) };
                if (pads.Any(p => p != 0) && Int(node, "count_include_pad", 0) == 0)
                    throw new NotSupportedException($"AveragePool {node.Name}: padding without count_include_pad is not implemented");
                return new[] { nn.functional.avg_pool2d(Pad(x, pads), kernel, Ints(node, "strides", kernel)) };
            }
            case "Add": return new[] { input(0) + input(1) };
            case "Sub": return new[] { input(0) - input(1) };
            case "Split":
            {
                var x = input(0);
                long axis = Int(node, "axis", 0);
                var sizes = Ints(node, "split", Enumerable.Repeat(x.shape[axis] / node.Output.Count, node.Output.Count).ToArray());
                return x.split(sizes, axis);
            }
            case "Concat": return new[] { cat(Enumerable.Range(0, count).Select(input).ToList(), Int(node, "axis", 0)) };
            default: throw new NotSupportedException(node.OpType);
        }
    }
}
