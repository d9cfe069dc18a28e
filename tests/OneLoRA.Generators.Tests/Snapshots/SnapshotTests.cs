using Microsoft.CodeAnalysis;

namespace OneLoRA.Generators.Tests.Snapshots;

public class SnapshotTests
{
    /// <summary>Generates, checks that user + generated code compiles without warnings, and compares one file with its baseline.</summary>
    private static void Check(string source, string hintName, [System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        var (_, result, output) = TestCompilation.Run(TestCompilation.Create(("Model.cs", source)));
        var run = Assert.Single(result.Results);
        Assert.Null(run.Exception);
        var problems = TestCompilation.Problems(output);
        Assert.True(problems == "", "User + generated code must compile cleanly:\n" + problems);
        var generated = Assert.Single(run.GeneratedSources, s => s.HintName == hintName);
        Snapshot.Verify(generated.SourceText.ToString(), test);
    }

    [Fact]
    public void SimpleMlp() => Check("""
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Samples;

        [Peft(Method.OneLoRA)]
        public partial class Mlp : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc1;
            private readonly Linear fc2;

            public Mlp() : base(nameof(Mlp))
            {
                fc1 = nn.Linear(4, 8);
                fc2 = nn.Linear(8, 2);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var h = nn.functional.relu(fc1.forward(x));
                return fc2.call(h);
            }
        }
        """, "Samples.Mlp.Peft.g.cs");

    [Fact]
    public void TransformerBlock() => Check("""
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Samples.Vision;

        [Peft(Method.OneLoRA, Targets = "q;k;v;o;fc*", TrainNorms = true, Dropout = 0.05, CompressionSeed = 7, MoRARankRule = MoRARankRule.MoRA)]
        public partial class TransformerBlock : nn.Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln1, ln2;
            private readonly Linear q, k, v, o;
            private readonly Linear fc1, fc2;

            public TransformerBlock(int dim) : base(nameof(TransformerBlock))
            {
                ln1 = nn.LayerNorm(dim);
                ln2 = nn.LayerNorm(dim);
                q = nn.Linear(dim, dim);
                k = nn.Linear(dim, dim);
                v = nn.Linear(dim, dim);
                o = nn.Linear(dim, dim);
                fc1 = nn.Linear(dim, 4 * dim);
                fc2 = nn.Linear(4 * dim, dim);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var h = ln1.forward(x);
                var attention = nn.functional.scaled_dot_product_attention(q.forward(h), this.k.forward(h), v.call(h));
                x = x + o.forward(attention);
                var m = fc1.forward(ln2.forward(x));
                return x + fc2.forward(nn.functional.gelu(m));
            }
        }
        """, "Samples.Vision.TransformerBlock.Peft.g.cs");

    [Fact]
    public void NoPeftMembersAndNonMemberReceivers() => Check("""
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Samples;

        [Peft(Method.OneLoRA)]
        public partial class Gated : nn.Module<Tensor, Tensor>
        {
            private readonly Linear up;
            [NoPeft] private readonly Linear gate;
            private static readonly Linear Shared = nn.Linear(4, 4);

            public Gated() : base(nameof(Gated))
            {
                up = nn.Linear(4, 4);
                gate = nn.Linear(4, 4);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var local = up;
                var a = local.forward(x);          // local: not intercepted
                var g = gate.forward(x);           // [NoPeft]: not intercepted
                var s = Shared.forward(x);         // static: not a candidate
                return Apply(up, x) * g + a + s + up.forward(x);
            }

            private static Tensor Apply(Linear layer, Tensor x) => layer.forward(x);   // parameter: not intercepted
        }
        """, "Samples.Gated.Peft.g.cs");

    [Fact]
    public void ExcludeGlobsAndProperties() => Check("""
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Samples;

        [Peft("lora", Targets = "*", Exclude = "head;*_gate", Rank = 4, Alpha = 8, UseRsLoRA = true)]
        public partial class Classifier : nn.Module<Tensor, Tensor>
        {
            private readonly Linear encoder;
            private readonly Linear up_gate;
            private readonly Linear head;

            public Linear Projection { get; }

            public Classifier() : base(nameof(Classifier))
            {
                encoder = nn.Linear(8, 8);
                up_gate = nn.Linear(8, 8);
                head = nn.Linear(8, 3);
                Projection = nn.Linear(8, 8);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) =>
                head.forward(up_gate.forward(Projection.forward(encoder.forward(x))));
        }
        """, "Samples.Classifier.Peft.g.cs");

    [Fact]
    public void NestedPeftBlocksInModuleList() => Check("""
        using System.Linq;
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Samples.Deep;

        [Peft(Method.OneLoRA)]
        public partial class Block : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc;

            public Block(int dim) : base(nameof(Block))
            {
                fc = nn.Linear(dim, dim);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => x + fc.forward(x);
        }

        [Peft(Method.OneLoRA, Exclude = "head")]
        public partial class Stack : nn.Module<Tensor, Tensor>
        {
            private readonly ModuleList<Block> blocks;
            private readonly Block last;
            private readonly ModuleList<Linear> mixers;
            private readonly Linear[] taps;
            private readonly Linear head;

            public Stack(int dim, int depth) : base(nameof(Stack))
            {
                blocks = new ModuleList<Block>(Enumerable.Range(0, depth).Select(_ => new Block(dim)).ToArray());
                last = new Block(dim);
                mixers = new ModuleList<Linear>(Enumerable.Range(0, depth).Select(_ => nn.Linear(dim, dim)).ToArray());
                taps = new[] { nn.Linear(dim, dim), nn.Linear(dim, dim) };
                head = nn.Linear(dim, 2);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                for (int i = 0; i < blocks.Count; i++)
                    x = mixers[i].forward(blocks[i].call(x));
                x = last.forward(x) + this.taps[0].call(x) + taps[1].forward(x);
                return head.forward(x);
            }
        }
        """, "Samples.Deep.Stack.Peft.g.cs");

    [Fact]
    public void GlobalNamespace() => Check("""
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        [Peft(Method.OneLoRA)]
        public partial class TinyNet : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc;

            public TinyNet() : base(nameof(TinyNet))
            {
                fc = nn.Linear(2, 2);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => fc.forward(x);
        }
        """, "TinyNet.Peft.g.cs");

    [Fact]
    public void NestedClass() => Check("""
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Samples;

        public static partial class Zoo
        {
            internal partial class Inner
            {
                [Peft(Method.OneLoRA, Targets = "proj")]
                private sealed partial class Head : nn.Module<Tensor, Tensor>
                {
                    private readonly Linear proj;
                    private readonly Linear skipped;

                    public Head() : base(nameof(Head))
                    {
                        proj = nn.Linear(2, 2);
                        skipped = nn.Linear(2, 2);
                        RegisterComponents();
                    }

                    public override Tensor forward(Tensor x) => proj.forward(x) + skipped.forward(x);
                }
            }
        }
        """, "Samples.Zoo.Inner.Head.Peft.g.cs");

    [Fact]
    public void DerivedFromPeftBase() => Check("""
        using OneLoRA;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Samples;

        [Peft(Method.OneLoRA)]
        public partial class Encoder : nn.Module<Tensor, Tensor>
        {
            protected readonly Linear proj;

            public Encoder() : base(nameof(Encoder))
            {
                proj = nn.Linear(4, 4);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => proj.forward(x);
        }

        [Peft(Method.OneLoRA, TrainBiases = true)]
        public partial class Classifier : Encoder
        {
            private readonly Linear head;

            public Classifier()
            {
                head = nn.Linear(4, 2);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => head.forward(base.proj.forward(x) + proj.call(x));
        }
        """, "Samples.Classifier.Peft.g.cs");
}
