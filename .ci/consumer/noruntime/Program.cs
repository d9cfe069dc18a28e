using System;
using OneLoRA;

try
{
    TorchRuntime.EnsureLoaded();
    Console.WriteLine("TorchSharp loaded without a runtime package?");
    return 1;
}
catch (TorchSharpLoadException e)
{
    Console.WriteLine(e.Message);
    return 3;
}
