using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace OneLoRA.Analyzers.Tests;

/// <summary>
/// Large inputs give exactly the right diagnostics: 4,000 local copies of an adapted layer in one method (the analysis of
/// each copy used to rescan the whole method), and a [Peft] inheritance chain 200 deep. Timings are printed, not asserted.
/// </summary>
public sealed class ScaleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Four_thousand_local_copies_report_exactly_the_copies_whose_forward_is_called()
    {
        const int copies = 4000;
        var body = new StringBuilder();
        for (int i = 0; i < copies; i++) body.Append("        var c").Append(i).Append(" = fc;\n");
        var used = new[] { 0, 1234, 3999 };
        var source = TestCompilation.Usings + $$"""
            [Peft(Method.OneLoRA)]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x)
                {
            {{body}}
                    return {{string.Join(" + ", used.Select(i => $"c{i}.forward(x)"))}};
                }
            }
            """;
        var compilation = TestCompilation.Create(source);
        TestCompilation.AssertCompiles(compilation);
        var clock = Stopwatch.StartNew();
        var diagnostics = await TestCompilation.AnalyzeAsync(compilation);
        output.WriteLine($"{copies} copies: analyzers {clock.Elapsed.TotalSeconds:F2} s");

        Assert.All(diagnostics, d => Assert.Equal("OLORA006", d.Id));
        Assert.Equal(used.Select(i => $"Adapted layer 'fc' is copied to local 'c{i}', whose forward() call is not intercepted; the generator can only route forward() calls written directly on the member inside its class, so this use may run the layer without its adapter"),
            diagnostics.Select(d => d.GetMessage(CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Inheritance_chain_200_deep_is_clean_and_calls_on_base_members_are_not_reported()
    {
        const int depth = 200;
        var sb = new StringBuilder(TestCompilation.Usings + """
            [Peft(Method.OneLoRA)]
            public partial class C0 : Module<Tensor, Tensor>
            {
                protected readonly Linear fc0 = Linear(2, 2);
                public C0() : base("c") => RegisterComponents();
                public override Tensor forward(Tensor x) => fc0.forward(x);
            }

            """);
        for (int i = 1; i < depth; i++)
            sb.Append($$"""
                [Peft(Method.OneLoRA, Targets = "fc*")]
                public partial class C{{i}} : C{{i - 1}}
                {
                    protected readonly Linear fc{{i}} = Linear(2, 2);
                    [NoPeft] protected readonly Linear head{{i}} = Linear(2, 2);
                    public override Tensor forward(Tensor x) => head{{i}}.forward(fc{{i}}.forward(fc0.forward(x)));
                }

                """);
        // One real finding at the bottom: a copy of a base layer whose forward() is called.
        sb.Append("""
            [Peft(Method.OneLoRA)]
            public partial class Leaf : C199
            {
                private readonly Linear own = Linear(2, 2);
                public override Tensor forward(Tensor x) { var f = fc7; return own.forward(f.forward(x)); }
            }
            """);
        var compilation = TestCompilation.Create(sb.ToString());
        TestCompilation.AssertCompiles(compilation);
        var clock = Stopwatch.StartNew();
        var diagnostics = await TestCompilation.AnalyzeAsync(compilation);
        output.WriteLine($"chain {depth}: analyzers {clock.Elapsed.TotalSeconds:F2} s");

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("OLORA006", diagnostic.Id);
        Assert.StartsWith("Adapted layer 'fc7' is copied to local 'f'", diagnostic.GetMessage(CultureInfo.InvariantCulture));
    }
}
