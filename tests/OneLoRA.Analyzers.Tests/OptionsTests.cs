using System.Threading.Tasks;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>OLORA005 (invalid values), OLORA008 (method name not built in), OLORA009 (option the method does not read).</summary>
public sealed class OptionsTests
{
    private const string Body = """
        public partial class Mlp : Module<Tensor, Tensor>
        {
            private readonly Linear fc = Linear(4, 4);
            public Mlp() : base(nameof(Mlp)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.forward(x);
        }
        """;

    [Theory]
    [InlineData("Method.LoRA", "Rank", "0", "Rank must be at least 1, found 0")]
    [InlineData("Method.DoRA", "Rank", "-4", "Rank must be at least 1, found -4")]
    [InlineData("Method.LoRA", "Alpha", "-1.5", "Alpha must be a finite number >= 0 (0 means alpha = rank), found -1.5")]
    [InlineData("Method.LoRA", "Alpha", "double.PositiveInfinity", "Alpha must be a finite number >= 0 (0 means alpha = rank), found Infinity")]
    [InlineData("Method.VeRA", "Dropout", "1.0", "Dropout must be in [0, 1), found 1")]
    [InlineData("Method.LoRA", "Dropout", "-0.1", "Dropout must be in [0, 1), found -0.1")]
    [InlineData("Method.DoRA", "Dropout", "double.NaN", "Dropout must be in [0, 1), found NaN")]
    [InlineData("Method.MoRA", "MoRAType", "3", "MoRAType must be 1 (sharing) or 6 (RoPE), found 3")]
    [InlineData("Method.MoRA", "MoRARankRule", "(MoRARankRule)7", "MoRARankRule must be MoRARankRule.Paper, MoRARankRule.MoRA or MoRARankRule.Floor, found 7")]
    [InlineData("Method.VeRA", "VeRADInitial", "double.NaN", "VeRADInitial must be a finite number, found NaN")]
    public async Task OLORA005_fires_on_invalid_value(string method, string option, string value, string expected)
    {
        var message = await AnalyzerAssert.SingleMessageAsync($"[Peft({method}, {option} = {{|OLORA005:{value}|}})]\n" + Body);
        Assert.Equal($"[Peft] option {option} on class 'Mlp' is invalid: {expected}", message);
    }

    [Fact]
    public async Task OLORA005_fires_on_undefined_method_enum_value_and_blank_name()
    {
        var enumMessage = await AnalyzerAssert.SingleMessageAsync("[Peft({|OLORA005:(Method)42|})]\n" + Body);
        Assert.Equal("[Peft] option method on class 'Mlp' is invalid: 42 is not a member of the OneLoRA.Method enum", enumMessage);
        var blankMessage = await AnalyzerAssert.SingleMessageAsync("[Peft({|OLORA005:\"  \"|})]\n" + Body);
        Assert.Equal("[Peft] option method on class 'Mlp' is invalid: the method name is empty; use a Method value or a registered method name", blankMessage);
    }

    [Theory]
    [InlineData("Method.LoRA, Rank = 1, Alpha = 0, Dropout = 0.0, UseRsLoRA = true")]
    [InlineData("Method.DoRA, Rank = 64, Alpha = 128.0, Dropout = 0.999")]
    [InlineData("Method.MoRA, Rank = 8, MoRARankRule = MoRARankRule.MoRA, MoRAType = 6")]
    [InlineData("Method.MoRA, MoRAType = 1, MoRARankRule = MoRARankRule.Paper")]
    [InlineData("Method.VeRA, Rank = 256, ProjectionPrngKey = 7, VeRADInitial = 0.1, Dropout = 0.1")]
    [InlineData("Method.OneLoRA, RandomCompression = true, CompressionSeed = 3, TrainNorms = true")]
    [InlineData("Method.BitFit, TrainNorms = true, TrainBiases = true, TrainScale = true")]
    [InlineData("\"mora6\", MoRARankRule = MoRARankRule.MoRA, Rank = 4")]
    [InlineData("\"1-LoRA\", TrainNorms = true")]
    [InlineData("\"FullFineTune\"")]
    public async Task Silent_for_valid_options_the_method_reads(string arguments)
    {
        await AnalyzerAssert.DiagnosticsAsync($"[Peft({arguments})]\n" + Body);
    }

    [Fact]
    public async Task OLORA008_warns_on_plugin_name_and_skips_no_effect_checks()
    {
        var message = await AnalyzerAssert.SingleMessageAsync("[Peft({|OLORA008:\"MyAdapter\"|}, Rank = 4, MoRAType = 6)]\n" + Body);
        Assert.Equal("Method name 'MyAdapter' on [Peft] class 'Mlp' is not a built-in method or alias; make sure a plugin registers it before AttachAdapters() runs", message);
    }

    [Fact]
    public async Task OLORA008_still_checks_values_for_plugin_names()
    {
        await AnalyzerAssert.DiagnosticsAsync("[Peft({|OLORA008:\"MyAdapter\"|}, Rank = {|OLORA005:0|})]\n" + Body);
    }

    [Theory]
    [InlineData("Method.OneLoRA", "Rank = 4", "Option Rank has no effect with method OneLoRA: only LoRA, DoRA, VeRA and MoRA read it")]
    [InlineData("Method.BitFit", "Alpha = 16", "Option Alpha has no effect with method BitFit: only LoRA and DoRA read it")]
    [InlineData("Method.LoRA", "MoRAType = 6", "Option MoRAType has no effect with method LoRA: only MoRA reads it")]
    [InlineData("Method.DoRA", "RandomCompression = true", "Option RandomCompression has no effect with method DoRA: only OneLoRA reads it")]
    [InlineData("Method.LoRA", "ProjectionPrngKey = 7", "Option ProjectionPrngKey has no effect with method LoRA: only VeRA reads it")]
    [InlineData("Method.Full", "Dropout = 0.1", "Option Dropout has no effect with method Full: only LoRA, DoRA, VeRA and MoRA read it")]
    [InlineData("\"mora6\"", "MoRAType = 1", "Option MoRAType has no effect with method MoRA: the method name 'mora6' fixes the MoRA type to 6")]
    [InlineData("Method.MoRA", "Rank = 8",
        "Option Rank has no effect with method MoRA: MoRARankRule.Paper sizes MoRA's square matrix from the layer (r̂ = round(√d)); set MoRARankRule = MoRARankRule.MoRA to use Rank")]
    [InlineData("Method.OneLoRA", "CompressionSeed = 3",
        "Option CompressionSeed has no effect with method OneLoRA: it seeds the random compression vector, and RandomCompression is not set")]
    public async Task OLORA009_fires_on_the_whole_named_argument(string method, string argument, string expected)
    {
        var message = await AnalyzerAssert.SingleMessageAsync($"[Peft({method}, {{|OLORA009:{argument}|}})]\n" + Body);
        Assert.Equal(expected, message);
    }

    [Fact]
    public async Task OLORA009_wins_over_OLORA005_for_an_option_the_method_ignores()
    {
        await AnalyzerAssert.DiagnosticsAsync("[Peft(Method.OneLoRA, TrainNorms = true, {|OLORA009:Rank = 0|})]\n" + Body);
    }

    [Fact]
    public async Task Silent_under_pragma()
    {
        await AnalyzerAssert.DiagnosticsAsync("#pragma warning disable OLORA009, OLORA008\n[Peft(\"Custom\", Rank = 2)]\n" + Body);
    }
}
