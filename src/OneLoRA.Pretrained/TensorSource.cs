using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Onnx;
using OneLoRA.Serialization;
using static TorchSharp.torch;

namespace OneLoRA.Pretrained;

/// <summary>
/// The named tensors of a pretrained checkpoint: an ONNX model's initializers (with anonymous MatMul weights
/// resolved to their Linear), one safetensors file, or a Hugging Face sharded checkpoint
/// (<c>model.safetensors.index.json</c>). Dispose it to close the files it keeps open.
/// </summary>
public sealed class TensorSource : IDisposable
{
    private readonly List<IDisposable> owned;

    private TensorSource(string description, IReadOnlyList<SourceTensor> tensors, List<IDisposable> owned)
    {
        Description = description;
        Tensors = tensors;
        this.owned = owned;
    }

    /// <summary>What was opened (a path), for messages and reports.</summary>
    public string Description { get; }

    /// <summary>The tensors, in checkpoint order, with unique names.</summary>
    public IReadOnlyList<SourceTensor> Tensors { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var d in owned) d.Dispose();
        owned.Clear();
    }

    /// <summary>Opens one safetensors file (validated by <see cref="SafetensorsFile"/>; tensors read on demand).</summary>
    /// <exception cref="SafetensorsFormatException">The file is malformed.</exception>
    public static TensorSource FromSafetensors(string path)
    {
        var file = SafetensorsFile.Open(path);
        return new TensorSource(path, Wrap(file), [file]);
    }

    /// <summary>
    /// Opens a Hugging Face sharded checkpoint from its index (<c>{"weight_map": {name: shard file}}</c>): every shard
    /// it names is opened (beside the index), each tensor must be in the shard the index names, and no shard may
    /// hold a tensor the index does not list.
    /// </summary>
    /// <exception cref="PretrainedFormatException">The index is malformed, a shard is missing, or index and shards disagree.</exception>
    public static TensorSource FromSafetensorsIndex(string indexPath)
    {
        Dictionary<string, string> weightMap;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new PretrainedFormatException(indexPath, "no \"weight_map\" object.");
            weightMap = new(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new PretrainedFormatException(indexPath, $"weight_map entry '{p.Name}' is not a file name.");
                if (!weightMap.TryAdd(p.Name, p.Value.GetString()!))
                    throw new PretrainedFormatException(indexPath, $"weight_map lists '{p.Name}' twice.");
            }
        }
        catch (JsonException e)
        {
            throw new PretrainedFormatException(indexPath, $"not valid JSON ({e.Message}).", e);
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var files = new List<IDisposable>();
        try
        {
            var tensors = new List<SourceTensor>();
            var problems = new List<string>();
            foreach (var shard in weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                if (Path.IsPathRooted(shard) || shard.Contains("..", StringComparison.Ordinal))
                    throw new PretrainedFormatException(indexPath, $"shard '{shard}' is not a file name beside the index.");
                var shardPath = Path.Combine(dir, shard);
                if (!File.Exists(shardPath))
                    throw new PretrainedFormatException(indexPath, $"shard '{shard}' not found (looked for '{shardPath}').");
                var file = SafetensorsFile.Open(shardPath);
                files.Add(file);
                foreach (var t in Wrap(file))
                {
                    if (!weightMap.TryGetValue(t.Name, out var listed)) problems.Add($"'{t.Name}' is in {shard} but not in the index");
                    else if (listed != shard) problems.Add($"'{t.Name}' is in {shard} but the index says {listed}");
                    else tensors.Add(t);
                }
            }
            var found = tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var (name, shard) in weightMap)
                if (!found.Contains(name) && !problems.Any(p => p.StartsWith($"'{name}'", StringComparison.Ordinal)))
                    problems.Add($"'{name}' is listed for {shard} but not in it");
            if (problems.Count > 0)
                throw new PretrainedFormatException(indexPath, $"index and shards disagree: {string.Join("; ", problems)}.");
            return new TensorSource(indexPath, tensors, files);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    private static List<SourceTensor> Wrap(SafetensorsFile file) =>
        [.. file.Entries.Select(e => new SourceTensor(e.Name, e.ScalarType, e.Shape, file.FilePath, () => file.Read(e.Name)))];

    /// <summary>Parses an ONNX model file; see <see cref="FromOnnx(Stream, string)"/>.</summary>
    public static TensorSource FromOnnx(string path)
    {
        using var stream = File.OpenRead(path);
        return FromOnnx(stream, path);
    }

    /// <summary>
    /// Parses an ONNX model (OnnxSharp) and exposes its initializers. A rank-2 initializer <c>W</c> [in, out] that is
    /// the second input of a <c>MatMul</c> whose only consumer is an <c>Add</c> with an initializer named
    /// <c>P.bias</c> becomes <c>P.weight</c>, transposed to [out, in] (PyTorch's Linear layout); every other
    /// initializer keeps its own name. Supported element types: float, double, float16, bfloat16, int32, int64, int8, uint8, bool.
    /// </summary>
    /// <param name="stream">The serialized ModelProto.</param>
    /// <param name="description">Names the model in messages (usually its path).</param>
    /// <exception cref="PretrainedFormatException">Not an ONNX model, an unsupported or external initializer, or two initializers resolving to one name.</exception>
    public static TensorSource FromOnnx(Stream stream, string description)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new PretrainedFormatException(description, $"not an ONNX model ({e.Message}).", e);
        }
        var graph = model.Graph ?? throw new PretrainedFormatException(description, "the model has no graph.");
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var init in graph.Initializer)
            if (!initializers.TryAdd(init.Name, init))
                throw new PretrainedFormatException(description, $"initializer '{init.Name}' appears twice.");

        // Resolve anonymous MatMul weights to the Linear their bias names.
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        var linearName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.OpType != "MatMul" || node.Input.Count != 2 || node.Output.Count != 1) continue;
            if (!initializers.TryGetValue(node.Input[1], out var w) || w.Dims.Count != 2) continue;
            if (!consumers.TryGetValue(node.Output[0], out var next) || next.Count != 1 || next[0].OpType != "Add") continue;
            var add = next[0];
            var bias = add.Input.FirstOrDefault(i => i != node.Output[0]);
            if (bias is null || !initializers.TryGetValue(bias, out var b) || !bias.EndsWith(".bias", StringComparison.Ordinal)) continue;
            if (b.Dims.Count != 1 || b.Dims[0] != w.Dims[1]) continue;
            var name = bias[..^".bias".Length] + ".weight";
            if (linearName.TryGetValue(w.Name, out var other) && other != name)
                throw new PretrainedFormatException(description, $"initializer '{w.Name}' feeds MatMuls of both '{other}' and '{name}'.");
            linearName[w.Name] = name;
        }

        var tensors = new List<SourceTensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var init in graph.Initializer)
        {
            var transposed = linearName.TryGetValue(init.Name, out var resolved);
            var name = transposed ? resolved! : init.Name;
            if (!names.Add(name))
                throw new PretrainedFormatException(description, $"two initializers resolve to '{name}'.");
            var dtype = ToScalarType(init, description);
            if (init.DataLocation == TensorProto.Types.DataLocation.External)
                throw new PretrainedFormatException(description, $"initializer '{init.Name}' has external data (not supported).");
            long[] dims = [.. init.Dims];
            long[] shape = transposed ? [dims[1], dims[0]] : dims;
            var origin = transposed ? $"{description} (initializer '{init.Name}' {SourceTensor.FormatShape(dims)}, transposed)" : description;
            var proto = init;
            tensors.Add(new SourceTensor(name, dtype, shape, origin, () =>
            {
                var t = ReadInitializer(proto, dtype, dims, description);
                if (!transposed) return t;
                using (t) return t.t().contiguous();
            }));
        }
        return new TensorSource(description, tensors, []);
    }

    private static ScalarType ToScalarType(TensorProto init, string description) =>
        (TensorProto.Types.DataType)init.DataType switch
        {
            TensorProto.Types.DataType.Float => ScalarType.Float32,
            TensorProto.Types.DataType.Double => ScalarType.Float64,
            TensorProto.Types.DataType.Float16 => ScalarType.Float16,
            TensorProto.Types.DataType.Bfloat16 => ScalarType.BFloat16,
            TensorProto.Types.DataType.Int32 => ScalarType.Int32,
            TensorProto.Types.DataType.Int64 => ScalarType.Int64,
            TensorProto.Types.DataType.Int8 => ScalarType.Int8,
            TensorProto.Types.DataType.Uint8 => ScalarType.Byte,
            TensorProto.Types.DataType.Bool => ScalarType.Bool,
            var other => throw new PretrainedFormatException(description, $"initializer '{init.Name}' has element type {other} (not supported)."),
        };

    private static Tensor ReadInitializer(TensorProto init, ScalarType dtype, long[] dims, string description)
    {
        long count = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new PretrainedFormatException(description, $"initializer '{init.Name}' has a negative dimension.");
            count = checked(count * d);
        }
        var itemSize = dtype switch
        {
            ScalarType.Float64 or ScalarType.Int64 => 8,
            ScalarType.Float32 or ScalarType.Int32 => 4,
            ScalarType.Float16 or ScalarType.BFloat16 => 2,
            _ => 1,
        };
        byte[] bytes;
        if (!init.RawData.IsEmpty) bytes = init.RawData.ToByteArray();
        else bytes = dtype switch
        {
            ScalarType.Float32 => MemoryMarshal.AsBytes(init.FloatData.ToArray().AsSpan()).ToArray(),
            ScalarType.Float64 => MemoryMarshal.AsBytes(init.DoubleData.ToArray().AsSpan()).ToArray(),
            ScalarType.Int64 => MemoryMarshal.AsBytes(init.Int64Data.ToArray().AsSpan()).ToArray(),
            ScalarType.Int32 => MemoryMarshal.AsBytes(init.Int32Data.ToArray().AsSpan()).ToArray(),
            ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => init.Int32Data.Select(v => (byte)v).ToArray(),
            // float16/bfloat16 in int32_data: the low 16 bits of each value.
            _ => init.Int32Data.SelectMany(v => BitConverter.GetBytes((ushort)v)).ToArray(),
        };
        if (bytes.LongLength != count * itemSize)
            throw new PretrainedFormatException(description,
                $"initializer '{init.Name}' holds {bytes.LongLength} bytes, its shape {SourceTensor.FormatShape(dims)} needs {count * itemSize}.");
        var tensor = empty(dims, dtype);
        try
        {
            if (bytes.Length > 0) tensor.bytes = bytes;
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }
}
