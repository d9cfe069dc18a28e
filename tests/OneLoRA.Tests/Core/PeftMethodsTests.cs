using System;
using OneLoRA.Methods.OneLoRA;
using Xunit;

namespace OneLoRA.Tests.Core;

public sealed class PeftMethodsTests
{
    [Theory]
    [InlineData("OneLoRA")]
    [InlineData("1lora")]
    [InlineData("ONELORA")]
    [InlineData("ilora")]
    public void OneLoRA_names_resolve(string name) =>
        Assert.IsType<OneLoRAMethod>(PeftMethods.Create(name));

    [Fact]
    public void Unknown_method_lists_the_valid_names()
    {
        var e = Assert.Throws<ArgumentException>(() => PeftMethods.Create("LoRAX"));
        Assert.Contains("'LoRAX'", e.Message);
        Assert.Contains("OneLoRA", e.Message);
        Assert.Contains("1lora", e.Message);
    }

    [Fact]
    public void Created_methods_keep_their_own_copy_of_the_options()
    {
        var options = new PeftOptions { Method = "OneLoRA", TrainNorms = true };
        var method = (OneLoRAMethod)PeftMethods.Create(options);
        options.TrainNorms = false;
        Assert.True(method.Options.TrainNorms);
    }
}
