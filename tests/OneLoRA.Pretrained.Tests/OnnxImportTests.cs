using System;
using System.IO;
using System.Linq;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Pretrained.Tests;

public class OnnxImportTests
{
    // W as stored by the exporter: [in=3, out=2], row-major.
    private static readonly float[] W = [1f, 2f, 3f, 4f, 5f, 6f];
    private static readonly float[] Bias = [0.5f, -0.5f];
    private static readonly float[] NormWeight = [2f, 3f];
    private static readonly float[] NormBias = [-1f, 1f];

    private static TensorProto Floats(string name, long[] dims, float[] values, bool raw)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        if (raw)
        {
            var bytes = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            t.RawData = ByteString.CopyFrom(bytes);
        }
        else t.FloatData.AddRange(values);
        return t;
    }

    /// <summary>x → MatMul(x, "927") → Add(·, lin.bias) → LayerNorm(norm.weight, norm.bias): a Linear with an anonymous weight, as the exporter writes it.</summary>
    private static ModelProto Model(bool withAdd = true)
    {
        var graph = new GraphProto { Name = "tiny" };
        graph.Initializer.Add(Floats("927", [3, 2], W, raw: true));
        graph.Initializer.Add(Floats("lin.bias", [2], Bias, raw: false));
        graph.Initializer.Add(Floats("norm.weight", [2], NormWeight, raw: true));
        graph.Initializer.Add(Floats("norm.bias", [2], NormBias, raw: false));
        var matmul = new NodeProto { OpType = "MatMul", Name = "MatMul_1" };
        matmul.Input.Add("x"); matmul.Input.Add("927"); matmul.Output.Add("mm");
        graph.Node.Add(matmul);
        var last = "mm";
        if (withAdd)
        {
            var add = new NodeProto { OpType = "Add", Name = "Add_2" };
            add.Input.Add("lin.bias"); add.Input.Add("mm"); add.Output.Add("lin_out");
            graph.Node.Add(add);
            last = "lin_out";
        }
        var ln = new NodeProto { OpType = "LayerNormalization", Name = "LN_3" };
        ln.Input.Add(last); ln.Input.Add("norm.weight"); ln.Input.Add("norm.bias"); ln.Output.Add("y");
        graph.Node.Add(ln);
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "OneLoRA.Pretrained.Tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 17 });
        return model;
    }

    private static string Write(TempDir dir, ModelProto model)
    {
        var path = dir.File("tiny.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    [Fact]
    public void Anonymous_matmul_weight_is_named_after_its_bias_and_transposed()
    {
        using var dir = new TempDir();
        using var source = TensorSource.FromOnnx(Write(dir, Model()));
        Assert.Equal(["lin.weight", "lin.bias", "norm.weight", "norm.bias"], source.Tensors.Select(t => t.Name));
        var weight = source.Tensors[0];
        Assert.Equal([2L, 3L], weight.Shape);
        Assert.Contains("'927'", weight.Origin);
        using var t = weight.Read();
        Assert.Equal([2L, 3L], t.shape);
        // Transposed: out row o, in column i = W[i, o] = W[i * 2 + o].
        var values = t.data<float>().ToArray();
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < 3; i++)
                Assert.Equal(W[i * 2 + o], values[o * 3 + i]);
    }

    [Fact]
    public void Onnx_weights_load_into_a_module_by_name()
    {
        using var dir = new TempDir();
        using var source = TensorSource.FromOnnx(Write(dir, Model()));
        using var tiny = new Tiny();
        var report = PretrainedLoader.Load(tiny, source);
        Assert.Equal(4, report.Loaded.Count);
        Assert.Equal(6 + 2 + 2 + 2, report.LoadedValues);
        var snap = tiny.Snapshot();
        Assert.Equal(new[] { 1f, 3f, 5f, 2f, 4f, 6f }, snap["lin.weight"]);
        Assert.Equal(Bias, snap["lin.bias"]);
        Assert.Equal(NormWeight, snap["norm.weight"]);
        Assert.Equal(NormBias, snap["norm.bias"]);

        // The loaded module computes what the ONNX graph computes: LayerNorm(x·W + b), here by explicit float64 arithmetic.
        double[] x = [0.25, -1.0, 2.0];
        var lin = new double[2];
        for (int o = 0; o < 2; o++) { lin[o] = Bias[o]; for (int i = 0; i < 3; i++) lin[o] += x[i] * W[i * 2 + o]; }
        var mean = (lin[0] + lin[1]) / 2;
        var variance = ((lin[0] - mean) * (lin[0] - mean) + (lin[1] - mean) * (lin[1] - mean)) / 2;
        using var input = torch.tensor(x.Select(v => (float)v).ToArray(), [1, 3]);
        using var y = tiny.forward(input);
        var got = y.data<float>().ToArray();
        for (int o = 0; o < 2; o++)
            Assert.Equal((lin[o] - mean) / Math.Sqrt(variance + 1e-5) * NormWeight[o] + NormBias[o], got[o], 4);
    }

    [Fact]
    public void A_matmul_without_a_named_bias_keeps_its_anonymous_name_and_strict_load_names_both_sides()
    {
        using var dir = new TempDir();
        using var source = TensorSource.FromOnnx(Write(dir, Model(withAdd: false)));
        Assert.Contains(source.Tensors, t => t.Name == "927");
        using var tiny = new Tiny();
        var before = tiny.Snapshot();
        var e = Assert.Throws<PretrainedLoadException>(() => PretrainedLoader.Load(tiny, source));
        Assert.Equal(["lin.weight"], e.Missing);
        Assert.Equal(["927"], e.Unused);
        Assert.Equal(before, tiny.Snapshot());
    }

    [Fact]
    public void Not_an_onnx_model_names_the_file()
    {
        using var dir = new TempDir();
        var path = dir.File("garbage.onnx");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]);
        var e = Assert.Throws<PretrainedFormatException>(() => TensorSource.FromOnnx(path));
        Assert.Contains("garbage.onnx", e.Message);
    }
}
