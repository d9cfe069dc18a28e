using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.Extensions.Options;
using OneLoRA.Targeting;

namespace OneLoRA.DependencyInjection;

/// <summary>
/// Validates <see cref="PeftOptions"/> at startup (registered by <c>AddOneLoRA</c> with <c>ValidateOnStart</c>):
/// the method must be a registered name or alias (built-in or plugin), and every value must lie in its range.
/// Each failure names the option, the allowed values and the value found.
/// </summary>
public sealed class PeftOptionsValidator : IValidateOptions<PeftOptions>
{
    private readonly IPeftMethodFactory? methods;

    /// <summary>Validates method names against the static <see cref="PeftMethods"/> registry.</summary>
    public PeftOptionsValidator() { }

    /// <summary>Validates method names against a container's factory (its plugins included).</summary>
    public PeftOptionsValidator(IPeftMethodFactory methods) => this.methods = methods;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Failures(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Every problem with <paramref name="options"/>, one message each; empty when valid.</summary>
    public IEnumerable<string> Failures(PeftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Method))
            yield return $"PeftOptions.Method is empty; expected a registered PEFT method. Valid names (case-insensitive): {ValidNames()}.";
        else if (!TryResolve(options.Method, out _))
            yield return $"PeftOptions.Method '{options.Method}' is not a registered PEFT method. Valid names (case-insensitive): {ValidNames()}.";

        if (options.Rank < 1)
            yield return $"PeftOptions.Rank must be an integer ≥ 1; got {options.Rank}.";
        if (!double.IsFinite(options.Alpha) || options.Alpha < 0)
            yield return $"PeftOptions.Alpha must be a finite number ≥ 0 (0 means alpha = rank); got {Show(options.Alpha)}.";
        if (!double.IsFinite(options.Dropout) || options.Dropout < 0 || options.Dropout >= 1)
            yield return $"PeftOptions.Dropout must be in [0, 1); got {Show(options.Dropout)}.";
        if (options.MoRAType is not (1 or 6))
            yield return $"PeftOptions.MoRAType must be 1 (sharing) or 6 (RoPE); got {options.MoRAType}.";
        if (!Enum.IsDefined(options.MoRARankRule))
            yield return $"PeftOptions.MoRARankRule must be one of {string.Join(", ", Enum.GetNames<MoRARankRule>())}; got {(int)options.MoRARankRule}.";
        if (!double.IsFinite(options.VeRADInitial))
            yield return $"PeftOptions.VeRADInitial must be a finite number; got {Show(options.VeRADInitial)}.";
        if (TargetGlob.Split(options.Targets ?? "").Length == 0)
            yield return "PeftOptions.Targets must hold at least one glob (';'-separated, e.g. '*' or 'fc*;proj'); got an empty list.";
    }

    private bool TryResolve(string name, out string canonical) =>
        methods is not null ? methods.TryResolve(name, out canonical) : PeftMethods.TryResolve(name, out canonical);

    /// <summary>"OneLoRA (aliases: 1lora, onelora), LoRA, ...": canonical names with their aliases.</summary>
    private string ValidNames()
    {
        var all = methods?.NamesAndAliases ?? PeftMethods.NamesAndAliases;
        var groups = new SortedDictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in all)
        {
            if (!TryResolve(key, out var canonical)) continue;
            if (!groups.TryGetValue(canonical, out var aliases)) groups[canonical] = aliases = [];
            if (!string.Equals(key, canonical, StringComparison.OrdinalIgnoreCase)) aliases.Add(key);
        }
        return string.Join(", ", groups.Select(g => g.Value.Count == 0 ? g.Key : $"{g.Key} (aliases: {string.Join(", ", g.Value)})"));
    }

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
