using System;
using TorchSharp;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// A value made for one device and dtype (a constant vector, index maps, shared projections), remade when a tensor on
/// another device or of another dtype asks for it; the old value is disposed. What it makes outlives any dispose scope.
/// </summary>
/// <typeparam name="T">A tensor or a disposable holder of tensors.</typeparam>
internal sealed class DeviceCache<T> where T : class, IDisposable
{
    private readonly Func<Tensor, T?, T> make;
    private T? value;
    private DeviceType deviceType;
    private int deviceIndex;
    private ScalarType dtype;

    /// <param name="make">Makes the value for <c>like</c>'s device and dtype from the previous value (null the first time).</param>
    /// <param name="initial">A value already made, on <paramref name="initialLike"/>'s device and dtype.</param>
    /// <param name="initialLike">Where <paramref name="initial"/> lives.</param>
    public DeviceCache(Func<Tensor, T?, T> make, T? initial = null, Tensor? initialLike = null)
    {
        this.make = make;
        if (initial is not null && initialLike is not null) Keep(initial, initialLike);
    }

    /// <summary>The value last made (null before the first).</summary>
    public T? Current => value;

    /// <summary>The value for <paramref name="like"/>'s device and dtype, made (and the previous one disposed) on a change.</summary>
    public T For(Tensor like)
    {
        if (value is { } v && like.device_type == deviceType && like.device_index == deviceIndex && like.dtype == dtype) return v;
        var old = value;
        var made = make(like, old);
        if (made is Tensor t) t.DetachFromDisposeScope();
        Keep(made, like);
        if (!ReferenceEquals(old, made)) old?.Dispose();
        return made;
    }

    private void Keep(T made, Tensor like)
    {
        value = made;
        deviceType = like.device_type;
        deviceIndex = like.device_index;
        dtype = like.dtype;
    }
}
