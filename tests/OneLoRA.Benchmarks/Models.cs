using System;
using System.Collections.Generic;
using System.Linq;
using OneLoRA.Models.Bert;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OneLoRA.Benchmarks;

/// <summary>The variants of one benchmark model: the frozen and full baselines, the naive 1LoRA (where it applies) and one per method.</summary>
public static class BenchModels
{
    /// <summary>
    /// One ViT-Base-sized block (d = 768, 12 heads, MLP 3072) on [batch, tokens, 768] noise. In every variant the two
    /// LayerNorms are trainable, so the backward pass runs through the whole block even when every linear is frozen.
    /// </summary>
    public static Variant Block(string variant, Tensor x)
    {
        var block = new TransformerBlock();
        Tensor Loss() => block.forward(x).square().mean();
        Tensor Infer() => block.forward(x);
        switch (variant)
        {
            case "frozen":
                Freeze(block, block.NormParameters());
                return new Variant("frozen", Loss, block.NormParameters(), Infer);
            case "full":
                return new Variant("full", Loss, block.parameters(), Infer);
            case "naive":
            {
                // The paper's Listing 1 inline: linear(x) + b * x.sum(-1, keepdim=True).
                Freeze(block, block.NormParameters());
                var b = block.Targets.ToDictionary(t => t.Layer, t => new Parameter(zeros(t.Layer.out_features)));
                block.Linear = (layer, input) => layer.forward(input) + b[layer] * input.sum(-1, keepdim: true);
                return new Variant("naive", Loss, [.. block.NormParameters(), .. b.Values], Infer);
            }
            default:
            {
                var attachment = Peft.Attach(block, block.Targets, PeftMethods.Create(variant));
                foreach (var p in block.NormParameters()) p.requires_grad = true;
                block.Linear = PeftRuntime.Forward;
                return new Variant(attachment.Method.Name, Loss, [.. attachment.TrainableParameters(), .. block.NormParameters()], Infer);
            }
        }
    }

    /// <summary>Token ids [batch, tokens] drawn from a seeded generator, every token attended.</summary>
    public static (Tensor Ids, Tensor Mask, Tensor Types) MiniLMInputs(int batch, int tokens)
    {
        using var generator = new Generator(5, device: CPU);
        var ids = randint(0, BertConfig.MiniLML6.VocabSize, [batch, tokens], dtype: ScalarType.Int64, generator: generator);
        return (ids, ones([batch, tokens], ScalarType.Int64), zeros([batch, tokens], ScalarType.Int64));
    }

    /// <summary>
    /// all-MiniLM-L6-v2's shape (6 layers, hidden 384, 12 heads, intermediate 1536; random weights: cost does not depend
    /// on the values) under mean pooling and a 26-class head, in training mode (dropout on). Every LayerNorm and the head
    /// are trainable in every variant, as in the text-classification job with the norms; methods attach through the
    /// generated <c>AttachAdapters</c>, so each Linear runs through the generated interceptors.
    /// </summary>
    public static Variant MiniLM(string variant, (Tensor Ids, Tensor Mask, Tensor Types) input)
    {
        var model = SeededInit.Apply(new BertModel(BertConfig.MiniLML6), 3);
        var head = SeededInit.Apply(nn.Linear(BertConfig.MiniLML6.HiddenSize, 26), 4);
        var (ids, mask, types) = input;
        Tensor Infer() => head.forward(BertModel.MeanPool(model.call(ids, mask, types), mask));
        Tensor Loss() => Infer().square().mean();
        IEnumerable<Parameter> Norms() => model.named_modules().Where(m => m.module is LayerNorm).SelectMany(m => m.module.parameters());
        model.train();
        switch (variant)
        {
            case "frozen":
                Freeze(model, Norms());
                return new Variant("frozen", Loss, [.. Norms(), .. head.parameters()], Infer);
            case "full":
                return new Variant("full", Loss, [.. model.parameters(), .. head.parameters()], Infer);
            case "naive":
                throw new ArgumentException("--model minilm has no naive variant (it needs a replaceable linear call).");
            default:
            {
                var attachment = model.AttachAdapters(PeftMethods.Create(variant));
                foreach (var p in Norms()) p.requires_grad = true;
                return new Variant(attachment.Method.Name, Loss, [.. attachment.TrainableParameters(), .. Norms(), .. head.parameters()], Infer);
            }
        }
    }

    private static void Freeze(nn.Module module, IEnumerable<Parameter> except)
    {
        foreach (var p in module.parameters()) p.requires_grad = false;
        foreach (var p in except) p.requires_grad = true;
    }
}

/// <summary>
/// Inference variants: the base model, a second identical base model (an A/A control for the run's noise), and 1LoRA
/// with non-zero vectors unmerged and merged. All built with the same seeds, so they differ only in the adapters.
/// </summary>
public static class InferenceModels
{
    public static Variant Block(string kind, Tensor x)
    {
        var block = new TransformerBlock();
        block.eval();
        if (kind is "base" or "base copy") return new Variant(kind, () => throw new NotSupportedException(), [], () => block.forward(x));
        var attachment = Peft.Attach(block, block.Targets, PeftMethods.Create("OneLoRA"));
        block.Linear = PeftRuntime.Forward;
        return Finish(kind, attachment, () => block.forward(x));
    }

    public static Variant MiniLM(string kind, (Tensor Ids, Tensor Mask, Tensor Types) input)
    {
        var model = SeededInit.Apply(new BertModel(BertConfig.MiniLML6), 3);
        model.eval();
        var (ids, mask, types) = input;
        Tensor Infer() => BertModel.MeanPool(model.call(ids, mask, types), mask);
        if (kind is "base" or "base copy") return new Variant(kind, () => throw new NotSupportedException(), [], Infer);
        return Finish(kind, model.AttachAdapters(PeftMethods.Create("OneLoRA")), Infer);
    }

    private static Variant Finish(string kind, PeftAttachment attachment, Func<Tensor> infer)
    {
        using (var generator = new Generator(9, device: CPU))
        using (no_grad())
            foreach (var p in attachment.TrainableParameters())
                p.copy_(randn(p.shape, generator: generator) * 1e-3);
        foreach (var p in attachment.TrainableParameters()) p.requires_grad = false;
        if (kind == "merged") attachment.Merge();
        else if (kind != "unmerged") throw new ArgumentException($"Unknown inference variant '{kind}'.");
        return new Variant("1LoRA " + kind, () => throw new NotSupportedException(), [], infer);
    }
}
