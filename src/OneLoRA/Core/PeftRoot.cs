using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA;

/// <summary>
/// Hosts the adapters of a model whose root is a <c>Sequential</c> or a bare <c>Linear</c>. TorchSharp 0.107's
/// <c>Sequential</c> lists and converts only the modules of its sequence and <c>Linear</c> only its weight and bias, so
/// neither can carry an adapter through <c>named_parameters()</c> or <c>.to()</c>. Attach wraps such a root in a
/// <see cref="PeftRoot"/>: it registers the root's children under their own names (base parameter names stay
/// <c>fc1.weight</c>) and each adapter beside its layer (<c>fc1_onelora.b</c>); its forward calls the wrapped model.
/// It is the attachment's <see cref="PeftAttachment.Host"/>: call <c>.to()</c>, <c>named_parameters()</c> and
/// <c>state_dict()</c> on it. The wrapped model shares every layer and adapter and keeps working for forward.
/// </summary>
public sealed class PeftRoot : nn.Module<Tensor, Tensor>
{
    internal PeftRoot(Sequential model) : base(nameof(PeftRoot))
    {
        Model = model;
        foreach (var (name, child) in model.named_children()) register_module(name, child);
    }

    internal PeftRoot(Linear model, string path) : base(nameof(PeftRoot))
    {
        if (path.Length == 0 || path.Contains('.'))
            throw new ArgumentException($"A bare Linear root is adapted under a one-segment path such as 'fc', got '{path}'.", nameof(path));
        Model = model;
        register_module(path, model);
    }

    /// <summary>The wrapped model (the Sequential or Linear that was attached to).</summary>
    public nn.Module<Tensor, Tensor> Model { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => Model.call(input);
}
