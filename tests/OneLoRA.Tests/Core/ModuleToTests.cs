using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Core;

/// <summary>
/// model.to(dtype/device) must carry the adapters along. TorchSharp's Linear.to() converts only its own weight
/// and bias and Sequential does not convert modules registered on it, so this fails if adapters hang there.
/// </summary>
public sealed class ModuleToTests
{
    private readonly Generator g = TestRng.Create(23);

    public static IEnumerable<object[]> Methods() => PeftMethods.Names.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Methods))]
    public void Model_to_converts_every_adapter_parameter(string method)
    {
        var mlp = new Mlp(8, 16, 4);
        Peft.Attach(mlp, mlp.Targets, PeftMethods.Create(method));

        mlp.to(ScalarType.Float64);

        Assert.All(mlp.named_parameters(), p => Assert.Equal(ScalarType.Float64, p.parameter.dtype));
        Assert.All(mlp.TrainableParameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        var y = mlp.forward(randn(3, 8, dtype: ScalarType.Float64, generator: g));
        Assert.Equal(ScalarType.Float64, y.dtype);
    }

    [Fact]
    public void Adapter_of_a_layer_inside_a_Sequential_is_converted_and_listed()
    {
        var net = new Wrapper().Init(g);
        var layer = (Linear)net.body[0];
        var attachment = Peft.Attach(net, [new TargetLayer("body.0", layer)], PeftMethods.Create("OneLoRA"));

        Assert.Equal("body_0_onelora", attachment.Layers.Single().AdapterPath);
        Assert.Contains(net.named_parameters(), p => p.name == "body_0_onelora.b");
        net.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, attachment.TrainableParameters().Single().dtype);
        Assert.Equal(ScalarType.Float64, net.body.call(randn(2, 4, dtype: ScalarType.Float64, generator: g)).dtype);
    }

    private sealed class Wrapper : nn.Module<Tensor, Tensor>
    {
        public readonly Sequential body = nn.Sequential(nn.Linear(4, 4), nn.ReLU());

        public Wrapper() : base(nameof(Wrapper)) => RegisterComponents();

        public override Tensor forward(Tensor x) => body.call(x);
    }
}
