// A small ViT for 28×28 images, annotated the way a user would: compiled in memory by SampleModelTests
// (embedded resource, not part of the test assembly). It must produce zero OneLoRA diagnostics.
using System;
using OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Samples.TinyVit;

/// <summary>Cuts images into non-overlapping patches and projects each to the model width.</summary>
[Peft(Method.OneLoRA, Targets = "proj")]
public partial class PatchEmbed : Module<Tensor, Tensor>
{
    private readonly long patch;
    private readonly Linear proj;

    public PatchEmbed(long patch, long dim) : base(nameof(PatchEmbed))
    {
        this.patch = patch;
        proj = Linear(patch * patch, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor images)
    {
        var b = images.shape[0];
        var patches = images.unfold(2, patch, patch).unfold(3, patch, patch).reshape(b, -1, patch * patch);
        return proj.forward(patches);
    }
}

/// <summary>Multi-head self-attention with a fused qkv projection.</summary>
[Peft(Method.OneLoRA, Targets = "qkv;out_proj")]
public partial class Attention : Module<Tensor, Tensor>
{
    private readonly long heads;
    private readonly Linear qkv, out_proj;

    public Attention(long dim, long heads) : base(nameof(Attention))
    {
        this.heads = heads;
        qkv = Linear(dim, 3 * dim);
        out_proj = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        var q_k_v = qkv.forward(x).reshape(b, n, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
        var attended = functional.scaled_dot_product_attention(q_k_v[0], q_k_v[1], q_k_v[2]);
        return out_proj.forward(attended.transpose(1, 2).reshape(b, n, d));
    }
}

/// <summary>The transformer MLP: expand, GELU, project back.</summary>
[Peft(Method.OneLoRA, Targets = "fc*")]
public partial class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;
    private readonly GELU act = GELU();

    public Mlp(long dim, long hidden) : base(nameof(Mlp))
    {
        fc1 = Linear(dim, hidden);
        fc2 = Linear(hidden, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(act.call(fc1.forward(x)));
}

/// <summary>Pre-norm transformer block; its layers live in the nested [Peft] modules.</summary>
[Peft(Method.OneLoRA)]
public partial class Block : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln1, ln2;
    private readonly Attention attn;
    private readonly Mlp mlp;

    public Block(long dim, long heads) : base(nameof(Block))
    {
        ln1 = LayerNorm(dim);
        ln2 = LayerNorm(dim);
        attn = new Attention(dim, heads);
        mlp = new Mlp(dim, 4 * dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + attn.call(ln1.call(x));
        return x + mlp.call(ln2.call(x));
    }
}

/// <summary>The whole model; the classification head is replaced and trained in full, so it stays un-adapted.</summary>
[Peft(Method.OneLoRA, TrainNorms = true)]
public partial class TinyVit : Module<Tensor, Tensor>
{
    private readonly PatchEmbed embed;
    private readonly Parameter pos;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm norm;
    [NoPeft] private readonly Linear head;

    public TinyVit(long classes = 10, long dim = 64, long depth = 2, long heads = 4) : base(nameof(TinyVit))
    {
        embed = new PatchEmbed(7, dim);
        pos = new Parameter(zeros(1, 16, dim));
        blocks = new ModuleList<Block>();
        for (int i = 0; i < depth; i++) blocks.Add(new Block(dim, heads));
        norm = LayerNorm(dim);
        head = Linear(dim, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor images)
    {
        var h = embed.call(images) + pos;
        foreach (var block in blocks) h = block.call(h);
        return head.forward(norm.call(h).mean(new long[] { 1 }));
    }
}

/// <summary>How an app uses the model (through call(), which runs the adapters' hooks).</summary>
public static class Inference
{
    public static Tensor Classify(TinyVit model, Tensor images)
    {
        using var _ = no_grad();
        return model.call(images).argmax(-1);
    }
}
