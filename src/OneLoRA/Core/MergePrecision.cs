using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>The dtype merges compute in: float64 stays float64, everything else (fp32, fp16, bf16) goes through fp32.</summary>
internal static class MergePrecision
{
    /// <summary>float64 for float64 tensors, float32 otherwise.</summary>
    public static ScalarType For(ScalarType dtype) => dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    /// <summary><paramref name="t"/> in its merge dtype (the same tensor when it already is).</summary>
    public static Tensor Widen(Tensor t) => t.to(For(t.dtype));
}
