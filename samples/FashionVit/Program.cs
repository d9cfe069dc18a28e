using System;
using System.IO;
using OneLoRA.Data;

// Loads Fashion-MNIST and prints how many images each class has; the ViT fine-tuning job builds on this.
string? dataDirectory = null;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--data" && i + 1 < args.Length) dataDirectory = args[++i];
    else if (args[i] is "--help" or "-h")
    {
        Console.WriteLine($"Usage: FashionVit [--data DIR]\nLooks in DIR, then ${FashionMnist.DirectoryVariable}, then {FashionMnist.DefaultDirectory}.\n{FashionMnist.InstallHint}");
        return 0;
    }
    else
    {
        Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: FashionVit [--data DIR]");
        return 2;
    }
}

try
{
    foreach (var split in new[] { FashionMnistSplit.Train, FashionMnistSplit.Test })
    {
        using var data = FashionMnist.Load(split, dataDirectory);
        Console.WriteLine($"{split}: {data.Count} images [{string.Join(", ", data.Images.shape)}] from {data.Directory}");
        var counts = data.CountsPerClass();
        for (int c = 0; c < counts.Length; c++)
            Console.WriteLine($"  {c} {data.ClassNames[c],-12} {counts[c],6}");
    }
    return 0;
}
catch (Exception e) when (e is FileNotFoundException or IdxFormatException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
