using System;
using System.Text.Json.Serialization;

namespace FashionVit.Model;

/// <summary>Shape of the Vision Transformer: patch size, width, depth, heads, MLP ratio and number of classes.</summary>
/// <param name="PatchSize">Side of a square patch in pixels; must divide 28.</param>
/// <param name="Dim">Token width.</param>
/// <param name="Depth">Number of transformer blocks.</param>
/// <param name="Heads">Attention heads; must divide <paramref name="Dim"/>.</param>
/// <param name="MlpRatio">Hidden width of each block's MLP as a multiple of <paramref name="Dim"/>.</param>
/// <param name="Classes">Outputs of the classification head.</param>
public sealed record VitConfig(int PatchSize, int Dim, int Depth, int Heads, int MlpRatio, int Classes)
{
    /// <summary>Side of a Fashion-MNIST image.</summary>
    public const int ImageSize = 28;

    /// <summary>The default model: 49 patches of 4×4, width 64, 4 blocks of 4 heads (about 0.2 M parameters).</summary>
    public static VitConfig Default { get; } = new(PatchSize: 4, Dim: 64, Depth: 4, Heads: 4, MlpRatio: 2, Classes: 5);

    /// <summary>Patches per image side.</summary>
    [JsonIgnore]
    public int Grid => ImageSize / PatchSize;

    /// <summary>Tokens per image (patches, without the class token).</summary>
    [JsonIgnore]
    public int Patches => Grid * Grid;

    /// <summary>Values in one patch (one channel).</summary>
    [JsonIgnore]
    public int PatchValues => PatchSize * PatchSize;

    /// <summary>Throws when the shape cannot be built, naming the option at fault.</summary>
    /// <exception cref="ArgumentException">A size is out of range or does not divide.</exception>
    public void Validate()
    {
        if (PatchSize < 1 || ImageSize % PatchSize != 0)
            throw new ArgumentException($"--patch {PatchSize}: the patch size must divide {ImageSize} (1, 2, 4, 7, 14 or 28).");
        if (Dim < 1) throw new ArgumentException($"--dim {Dim}: the width must be at least 1.");
        if (Depth < 1) throw new ArgumentException($"--depth {Depth}: the model needs at least one block.");
        if (Heads < 1 || Dim % Heads != 0)
            throw new ArgumentException($"--heads {Heads}: the number of heads must be at least 1 and divide --dim {Dim}.");
        if (MlpRatio < 1) throw new ArgumentException($"--mlp-ratio {MlpRatio}: must be at least 1.");
        if (Classes < 1) throw new ArgumentException($"The head needs at least one class, got {Classes}.");
    }
}
