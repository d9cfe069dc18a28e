using System.Globalization;

namespace OneLoRA;

/// <summary>Trainable versus total parameter counts (PEFT's <c>print_trainable_parameters</c>).</summary>
public sealed record ParameterReport(long Trainable, long Total, int AdaptedLayers, string Method)
{
    /// <summary>Trainable share in percent.</summary>
    public double TrainablePercent => Total == 0 ? 0 : 100.0 * Trainable / Total;

    /// <inheritdoc />
    public override string ToString() => string.Format(CultureInfo.InvariantCulture,
        "{0}: trainable params: {1:N0} || all params: {2:N0} || trainable%: {3:F4} || adapted layers: {4}",
        Method, Trainable, Total, TrainablePercent, AdaptedLayers);
}
