using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Benchmarks;

/// <summary>
/// A pre-norm ViT-Base-sized transformer block (d = 768, 12 heads, MLP 3072). Every linear goes through
/// <see cref="Linear"/>, a replaceable call strategy, so the variants differ only in how a linear is applied.
/// </summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm ln1, ln2;
    private readonly Linear qkv, proj, fc1, fc2;
    private readonly int heads;

    public TransformerBlock(int dim = 768, int heads = 12, int mlp = 3072, int seed = 0) : base(nameof(TransformerBlock))
    {
        this.heads = heads;
        ln1 = nn.LayerNorm(dim);
        qkv = nn.Linear(dim, 3 * dim);
        proj = nn.Linear(dim, dim);
        ln2 = nn.LayerNorm(dim);
        fc1 = nn.Linear(dim, mlp);
        fc2 = nn.Linear(mlp, dim);
        RegisterComponents();
        SeededInit.Apply(this, (ulong)seed);
    }

    /// <summary>How each linear is applied (default: the plain base layer).</summary>
    public Func<Linear, Tensor, Tensor> Linear { get; set; } = (layer, x) => layer.forward(x);

    public IReadOnlyList<TargetLayer> Targets => [new("qkv", qkv), new("proj", proj), new("fc1", fc1), new("fc2", fc2)];

    public IEnumerable<Parameter> NormParameters() => [.. ln1.parameters(), .. ln2.parameters()];

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var qkvOut = Linear(qkv, ln1.forward(x)).view(b, t, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
        var attention = nn.functional.scaled_dot_product_attention(qkvOut[0], qkvOut[1], qkvOut[2]);
        x = x + Linear(proj, attention.transpose(1, 2).reshape(b, t, d));
        return x + Linear(fc2, nn.functional.gelu(Linear(fc1, ln2.forward(x))));
    }
}
