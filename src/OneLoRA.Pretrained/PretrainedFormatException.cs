using System;

namespace OneLoRA.Pretrained;

/// <summary>A checkpoint file (ONNX model, safetensors shard or sharded index) is malformed or unsupported; the message names the file and the tensor.</summary>
public sealed class PretrainedFormatException : Exception
{
    /// <summary>A problem in <paramref name="file"/>.</summary>
    public PretrainedFormatException(string file, string message, Exception? inner = null)
        : base($"'{file}': {message}", inner) => File = file;

    /// <summary>The file at fault.</summary>
    public string File { get; }
}
