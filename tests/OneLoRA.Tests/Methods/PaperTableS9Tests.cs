using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using OneLoRA;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>
/// The params column of the 1LoRA paper's Table S9 (ViT-Base/16): bytes in fp32 (4 × trainable parameters) over the
/// 72 linears of the 12 blocks (q, k, v, o, fc1, fc2; q, k, v separate), head excluded; "norms" are the 25 LayerNorms.
/// The model is built from real modules on the meta device (shapes only, no memory) and counted with the library's
/// own <see cref="PeftAttachment.Report"/>.
/// </summary>
public sealed class PaperTableS9Tests
{
    static PaperTableS9Tests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData("OneLoRA", false, "331.78K")]
    [InlineData("LoRA", false, "663.55K")]
    [InlineData("VeRA", false, "332.06K")]
    [InlineData("DoRA", false, "995.33K")]
    [InlineData("MoRA1", false, "333.36K")]
    [InlineData("MoRA6", false, "328.13K")]
    [InlineData("DiffFit", false, "817.15K")]
    [InlineData("BitFit", false, "331.78K")]
    [InlineData("OneLoRA", true, "485.38K")]
    [InlineData("Full", false, "343.19M")]
    [InlineData("None", true, "153.60K")]
    public void Params_column_of_table_S9(string method, bool norms, string paper)
    {
        using var vit = new VitBase16Shapes();
        var layers = vit.named_modules().Where(m => m.module is Linear).Select(m => new TargetLayer(m.name, (Linear)m.module)).ToList();
        Assert.Equal(72, layers.Count);
        Assert.Equal(25, vit.modules().Count(m => m is LayerNorm));

        var attachment = Peft.Attach(vit, layers, PeftMethods.Create(new PeftOptions { Method = method, TrainNorms = norms }));
        long bytes = 4 * attachment.Report().Trainable;

        Assert.Equal(paper, Format(bytes));
    }

    [Fact]
    public void Counts_behind_the_column_are_the_per_layer_formulas()
    {
        // Per block: five linears with d = 768 (q, k, v, o, fc2) and one with d = 3072 (fc1); k = 768 except fc2 (3072).
        long Sum(System.Func<long, long, long> perLayer) => 12 * (4 * perLayer(768, 768) + perLayer(768, 3072) + perLayer(3072, 768));
        Assert.Equal(82_944, Sum((k, d) => d));                   // 1LoRA, BitFit: 331,776 B
        Assert.Equal(165_888, Sum((k, d) => k + d));              // LoRA r = 1: 663,552 B
        Assert.Equal(83_016, Sum((k, d) => d + 1));               // VeRA r = 1 (λ_b, λ_d; shared A, B frozen): 332,064 B
        Assert.Equal(83_340, Sum((k, d) => d == 768 ? 28 * 28 : 55 * 55));   // MoRA1, round(√d): 333,360 B
        Assert.Equal(82_032, Sum((k, d) => d == 768 ? 28 * 28 : 54 * 54));   // MoRA6, even: 328,128 B
        Assert.Equal(38_400, 25 * 2 * 768L);                      // 25 LayerNorms: 153,600 B
        Assert.Equal("343.19M", Format(4 * (long)(16 * 16 * 3 * 768 + 768 + 768 + 197 * 768 + 12 * 7_087_872L + 2 * 768)));
    }

    private static string Format(long bytes) => bytes >= 1_000_000
        ? (bytes / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M"
        : (bytes / 1e3).ToString("F2", CultureInfo.InvariantCulture) + "K";

    /// <summary>ViT-Base/16 at 224² without its head: patch embedding, class token, position embedding, 12 blocks, final norm.</summary>
    private sealed class VitBase16Shapes : nn.Module
    {
        private readonly Conv2d patch_embed;
        private readonly Parameter cls_token;
        private readonly Parameter pos_embed;
        private readonly ModuleList<Block> blocks;
        private readonly LayerNorm norm;

        public VitBase16Shapes() : base(nameof(VitBase16Shapes))
        {
            patch_embed = nn.Conv2d(3, 768, 16, stride: 16, device: META);
            cls_token = new Parameter(zeros(1, 1, 768, device: META));
            pos_embed = new Parameter(zeros(1, 197, 768, device: META));
            blocks = nn.ModuleList(Enumerable.Range(0, 12).Select(_ => new Block()).ToArray());
            norm = nn.LayerNorm(768, device: META);
            RegisterComponents();
        }
    }

    private sealed class Block : nn.Module
    {
        private readonly LayerNorm norm1, norm2;
        private readonly Linear q, k, v, o, fc1, fc2;

        public Block() : base(nameof(Block))
        {
            norm1 = nn.LayerNorm(768, device: META);
            q = nn.Linear(768, 768, device: META);
            k = nn.Linear(768, 768, device: META);
            v = nn.Linear(768, 768, device: META);
            o = nn.Linear(768, 768, device: META);
            norm2 = nn.LayerNorm(768, device: META);
            fc1 = nn.Linear(768, 3072, device: META);
            fc2 = nn.Linear(3072, 768, device: META);
            RegisterComponents();
        }
    }
}
