using System;
using OneLoRA;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FashionVit.Model;

/// <summary>
/// A small Vision Transformer for 28×28 grey images: non-overlapping patches → Linear patch embedding → class token
/// and learned position embeddings → pre-norm <see cref="Block"/>s → LayerNorm → Linear head on the class token.
/// Every Linear but the head is adapted (the paper trains new classification heads in full instead).
/// </summary>
[Peft(Method.OneLoRA)]
public sealed partial class VisionTransformer : nn.Module<Tensor, Tensor>
{
    // Field names are the registered names (TorchSharp's .to() writes back by name).
    private readonly Linear embed;
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm norm;
    [NoPeft] private Linear head;

    /// <summary>A freshly initialised model of the given shape (weights drawn from TorchSharp's global generator).</summary>
    public VisionTransformer(VitConfig config) : base(nameof(VisionTransformer))
    {
        config.Validate();
        Config = config;
        embed = nn.Linear(config.PatchValues, config.Dim);
        cls_token = new Parameter(zeros(1, 1, config.Dim));
        pos_embed = new Parameter(randn(1, config.Patches + 1, config.Dim).mul_(0.02));
        blocks = new ModuleList<Block>();
        for (int i = 0; i < config.Depth; i++)
            blocks.Add(new Block(config.Dim, config.Heads, config.Dim * config.MlpRatio));
        norm = nn.LayerNorm(config.Dim);
        head = nn.Linear(config.Dim, config.Classes);
        RegisterComponents();
    }

    /// <summary>The shape this model was built with (its <see cref="VitConfig.Classes"/> follows <see cref="ReplaceHead"/>).</summary>
    public VitConfig Config { get; private set; }

    /// <summary>The classification head (not adapted; trained in full for a new task).</summary>
    // A computed view of the [NoPeft] field, so not a candidate itself (only fields and auto-properties are).
    public Linear Head => head;

    /// <summary>
    /// Puts a new, freshly initialised head with <paramref name="classes"/> outputs in place of the old one (a new task).
    /// Call before attaching adapters; the new head is on the old head's device and dtype.
    /// </summary>
    /// <exception cref="InvalidOperationException">Adapters are already attached (their trainable set would miss the new head).</exception>
    public void ReplaceHead(int classes)
    {
        if (Peft.AttachmentFor(this) is not null)
            throw new InvalidOperationException("ReplaceHead must be called before AttachAdapters: the attachment would keep training the old head.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "A head needs at least one class.");
        var old = head;
        var replacement = nn.Linear(Config.Dim, classes, device: old.weight.device, dtype: old.weight.dtype);
        register_module(nameof(head), null!);
        head = replacement;
        register_module(nameof(head), head);
        old.Dispose();
        Config = Config with { Classes = classes };
    }

    /// <summary>Logits [B, classes] for images [B, 1, 28, 28].</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = embed.forward(Patchify(images, Config.PatchSize));
        x = cat([cls_token.expand(x.shape[0], -1, -1), x], 1) + pos_embed;
        foreach (var block in blocks)
        {
            // A scope per block frees its temporaries as soon as it is done (autograd keeps what backward needs):
            // otherwise every intermediate of the whole forward stays alive until the step ends.
            using var blockScope = NewDisposeScope();
            x = block.call(x).MoveToOuterDisposeScope();
        }
        return head.forward(norm.forward(x).select(1, 0)).MoveToOuterDisposeScope();
    }

    /// <summary>[B, 1, H, W] → [B, (H/p)·(W/p), p·p]: non-overlapping p×p patches in row-major order, each flattened row by row.</summary>
    public static Tensor Patchify(Tensor images, int patch)
    {
        var (b, h, w) = (images.shape[0], images.shape[2], images.shape[3]);
        return images.reshape(b, h / patch, patch, w / patch, patch).permute(0, 1, 3, 2, 4).reshape(b, (h / patch) * (w / patch), patch * patch);
    }
}
