using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Pretrained.Tests;

/// <summary>A temporary directory removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("olora-pretrained-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>A small module with HF-style names: lin (Linear 3→2) and norm (LayerNorm 2).</summary>
internal sealed class Tiny : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin;
    private readonly LayerNorm norm;

    public Tiny(long inFeatures = 3, long outFeatures = 2) : base(nameof(Tiny))
    {
        lin = nn.Linear(inFeatures, outFeatures);
        norm = nn.LayerNorm(outFeatures);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => norm.forward(lin.forward(x));

    /// <summary>Every parameter as name → float values (a snapshot independent of the module).</summary>
    public Dictionary<string, float[]> Snapshot() =>
        named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
}

/// <summary>Writes safetensors files byte by byte (header JSON + little-endian float32 data), independently of the library's writer.</summary>
internal static class SafetensorsWriter
{
    public static void WriteFloat32(string path, IReadOnlyList<(string Name, long[] Shape, float[] Values)> tensors)
    {
        var header = new StringBuilder("{");
        long offset = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var (name, shape, values) = tensors[i];
            if (i > 0) header.Append(',');
            long end = offset + values.Length * 4L;
            header.Append($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{end}]}}");
            offset = end;
        }
        header.Append('}');
        var headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        using var f = System.IO.File.Create(path);
        using var w = new BinaryWriter(f);
        w.Write((ulong)headerBytes.Length);
        w.Write(headerBytes);
        foreach (var (_, _, values) in tensors)
            foreach (var v in values) w.Write(v);
    }
}
