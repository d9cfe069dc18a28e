using OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FashionVit.Model;

/// <summary>
/// A pre-norm transformer block: <c>x + o(attention(q, k, v)(ln1(x)))</c>, then <c>x + fc2(gelu(fc1(ln2(x))))</c>.
/// Every Linear is adapted; the plain <c>forward</c> calls below are routed through the adapters by the generated interceptors.
/// </summary>
[Peft(Method.OneLoRA)]
public sealed partial class Block : nn.Module<Tensor, Tensor>
{
    // Field names are the registered names (TorchSharp's .to() writes back by name).
    private readonly LayerNorm ln1, ln2;
    private readonly Linear q, k, v, o;
    private readonly Linear fc1, fc2;
    private readonly long heads;

    /// <summary>A block of width <paramref name="dim"/> with <paramref name="heads"/> heads and an MLP of <paramref name="hidden"/> units.</summary>
    public Block(long dim, long heads, long hidden) : base(nameof(Block))
    {
        this.heads = heads;
        ln1 = nn.LayerNorm(dim);
        ln2 = nn.LayerNorm(dim);
        q = nn.Linear(dim, dim);
        k = nn.Linear(dim, dim);
        v = nn.Linear(dim, dim);
        o = nn.Linear(dim, dim);
        fc1 = nn.Linear(dim, hidden);
        fc2 = nn.Linear(hidden, dim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = ln1.forward(x);
        var attention = nn.functional.scaled_dot_product_attention(SplitHeads(q.forward(h)), SplitHeads(k.forward(h)), SplitHeads(v.forward(h)));
        x = x + o.forward(MergeHeads(attention));
        return x + fc2.forward(nn.functional.gelu(fc1.forward(ln2.forward(x))));
    }

    // [B, T, D] -> [B, H, T, D/H]
    private Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], heads, -1).transpose(1, 2);

    // [B, H, T, D/H] -> [B, T, D]
    private static Tensor MergeHeads(Tensor x) => x.transpose(1, 2).flatten(2);
}
