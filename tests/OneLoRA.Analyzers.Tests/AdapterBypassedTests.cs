using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>OLORA006: an adapted layer's forward() reached where the generated interceptor cannot see it.</summary>
public sealed class AdapterBypassedTests
{
    private const string Members = """
            public readonly Linear fc1 = Linear(4, 4);
            public readonly Linear fc2 = Linear(4, 4);
            public readonly ModuleList<Linear> heads = new ModuleList<Linear>(Linear(4, 4), Linear(4, 4));
            private readonly Linear[] experts = { Linear(4, 4) };
            [NoPeft] public readonly Linear frozen = Linear(4, 4);
            private Module<Tensor, Tensor>? alias;
            public Block() : base(nameof(Block)) => RegisterComponents();
            private static Tensor Helper(Linear layer, Tensor x) => layer.call(x);
        """;

    private static string Block(string forwardBody) =>
        "[Peft(Method.OneLoRA)]\npublic partial class Block : Module<Tensor, Tensor>\n{\n" + Members +
        "\n    public override Tensor forward(Tensor x)\n    {\n" + forwardBody + "\n    }\n}\n";

    [Fact]
    public async Task Silent_for_intercepted_calls_call_hooks_sequential_and_reads()
    {
        await AnalyzerAssert.DiagnosticsAsync(Block("""
                    var h = fc1.forward(x) + this.fc2.forward(x);
                    for (int i = 0; i < heads.Count; i++) h = h + heads[i].forward(x) + this.heads[i].forward(x);
                    h = h + experts[0].forward(x) + experts.Length;
                    // call() runs the adapter's forward hook wherever it happens.
                    Func<Tensor, Tensor> hooked = fc1.call;
                    var local = fc2;
                    h = h + hooked(x) + local.call(x) + Helper(frozen, x);
                    foreach (var head in heads) h = h + head.call(x) + head.weight!.sum();
                    // TorchSharp's Sequential runs its children with call().
                    var seq = Sequential(fc1, fc2);
                    var named = Sequential(("a", fc1), ("b", fc2));
                    seq.append(fc1);
                    h = h + seq.forward(x) + named.call(x);
                    // Reading parameters, identity checks, the runtime's own API.
                    h = h + fc1.weight!.sum() + fc1.in_features;
                    var same = fc1 == fc2 || fc1 is null || ReferenceEquals(fc1, fc2) || Peft.AdapterFor(fc1) is null;
                    Console.WriteLine(nameof(fc1) + fc2);
                    frozen.forward(x);
                    return h;
            """));
    }

    [Fact]
    public async Task Fires_on_forward_method_group()
    {
        var message = await AnalyzerAssert.SingleMessageAsync(Block("""
                    Func<Tensor, Tensor> f = {|OLORA006:fc1|}.forward;
                    return f(x);
            """));
        Assert.Equal("Adapted layer 'fc1' is used as the method group 'forward' (a delegate); the generator can only route forward() calls " +
            "written directly on the member inside its class, so this use may run the layer without its adapter", message);
    }

    [Fact]
    public async Task Fires_on_layers_passed_to_other_methods_and_stored()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync(Block("""
                    var list = new List<Linear>();
                    list.Add({|OLORA006:fc2|});
                    alias = {|OLORA006:fc1|};
                    var array = new Linear[] { {|OLORA006:heads[1]|} };
                    return Helper({|OLORA006:fc1|}, x);
            """));
        Assert.Equal(
            ["is passed to 'Add'", "is stored in 'alias'", "is stored in a tuple, array or collection", "is passed to 'Helper'"],
            diagnostics.Select(d => Between(d.GetMessage(CultureInfo.InvariantCulture), "' ", ";")));
    }

    [Fact]
    public async Task Fires_on_locals_and_loop_variables_that_call_forward()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync(Block("""
                    var layer = {|OLORA006:fc1|};
                    var h = layer.forward(x);
                    var expert = {|OLORA006:experts[0]|};
                    h = h + expert?.forward(x)!;
                    foreach (var head in {|OLORA006:heads|}) h = h + head.forward(x);
                    return h;
            """));
        Assert.Equal(
            ["is copied to local 'layer', whose forward() call is not intercepted",
             "is copied to local 'expert', whose forward() call is not intercepted",
             "is iterated by foreach, and forward() on the loop variable is not intercepted"],
            diagnostics.Select(d => Between(d.GetMessage(CultureInfo.InvariantCulture), "' ", ";")));
    }

    [Fact]
    public async Task Fires_on_conditional_access_conversion_and_other_instances()
    {
        var diagnostics = await AnalyzerAssert.DiagnosticsAsync(Block("""
                    var other = new Block();
                    var h = {|OLORA006:fc1|}?.forward(x)!;
                    h = h + ((Module<Tensor, Tensor>){|OLORA006:fc2|}).forward(x);
                    return h + {|OLORA006:other.fc1|}.forward(x) + other.fc1.call(x);
            """));
        Assert.Equal(
            ["has forward() called through '?.'",
             "is converted to another type before forward() is called",
             "has forward() called through 'other.fc1' instead of this instance's own member"],
            diagnostics.Select(d => Between(d.GetMessage(CultureInfo.InvariantCulture), "' ", ";")));
    }

    [Fact]
    public async Task Fires_on_forward_called_outside_the_class_but_not_on_call()
    {
        var message = await AnalyzerAssert.SingleMessageAsync(Block("        return fc1.forward(x);") + """
            public static class Runner
            {
                public static Tensor Run(Block block, Tensor x) => {|OLORA006:block.fc1|}.forward(x) + block.fc2.call(x) + block.frozen.forward(x);
            }
            """);
        Assert.Contains("'fc1' has forward() called on it outside [Peft] class 'Block';", message);
    }

    [Fact]
    public async Task Linq_over_an_adapted_collection_fires_only_when_a_lambda_calls_forward()
    {
        await AnalyzerAssert.DiagnosticsAsync("using System.Linq;\n" + Block("""
                    var parameters = heads.Sum(h => h.weight!.numel());
                    var outputs = {|OLORA006:heads|}.Select(h => h.forward(x)).ToList();
                    return outputs[0] + parameters;
            """));
    }

    [Fact]
    public async Task Generated_code_is_not_analyzed()
    {
        await AnalyzerAssert.DiagnosticsAsync(Block("        return fc1.forward(x);"), """
            // <auto-generated/>
            #nullable enable
            partial class Block
            {
                private global::System.Func<global::TorchSharp.torch.Tensor, global::TorchSharp.torch.Tensor> Probe => fc1.forward;
            }
            """);
    }

    [Fact]
    public async Task Silent_under_pragma()
    {
        await AnalyzerAssert.DiagnosticsAsync(Block("""
            #pragma warning disable OLORA006 // probe the base layer on purpose
                    Func<Tensor, Tensor> f = fc1.forward;
            #pragma warning restore OLORA006
                    return f(x);
            """));
    }

    private static string Between(string text, string start, string end)
    {
        int from = text.IndexOf(start, System.StringComparison.Ordinal) + start.Length;
        return text.Substring(from, text.IndexOf(end, from, System.StringComparison.Ordinal) - from);
    }
}
