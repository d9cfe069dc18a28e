using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace OneLoRA.Training.Cli;

/// <summary>
/// Numeric option parsing with one-line errors in the jobs' style (<c>--lr: 'abc' is not a number</c>) instead of
/// System.CommandLine's "Cannot parse argument … as expected type 'System.Nullable`1[System.Double]'". Numbers are read
/// with the invariant culture.
/// </summary>
public static class NumberOptions
{
    /// <summary>
    /// Gives every <c>int</c>, <c>long</c> and <c>double</c> option (nullable or not) of <paramref name="command"/> and
    /// its subcommands that has no parser of its own the parser of this class. Call it once the options are added.
    /// </summary>
    public static TCommand UseClearNumberErrors<TCommand>(this TCommand command) where TCommand : Command
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<int> o when o.CustomParser is null: Use(o, "a whole number", ParseInt32); break;
                case Option<int?> o when o.CustomParser is null: UseNullable(o, "a whole number", ParseInt32); break;
                case Option<long> o when o.CustomParser is null: Use(o, "a whole number", ParseInt64); break;
                case Option<long?> o when o.CustomParser is null: UseNullable(o, "a whole number", ParseInt64); break;
                case Option<double> o when o.CustomParser is null: Use(o, "a number", ParseDouble); break;
                case Option<double?> o when o.CustomParser is null: UseNullable(o, "a number", ParseDouble); break;
            }
        }
        foreach (var subcommand in command.Subcommands) subcommand.UseClearNumberErrors();
        return command;
    }

    private delegate bool TryParse<T>(string text, out T value);

    private static void Use<T>(Option<T> option, string expected, TryParse<T> parse) where T : struct =>
        option.CustomParser = result =>
        {
            // No token: the option's own default (a parser replaces the default's conversion, not its value).
            if (result.Tokens.Count == 0) return option.DefaultValueFactory is { } factory ? factory(result) : default;
            var text = result.Tokens[^1].Value;
            if (parse(text, out var value)) return value;
            result.AddError($"{option.Name}: '{text}' is not {expected}.");
            return default;
        };

    private static void UseNullable<T>(Option<T?> option, string expected, TryParse<T> parse) where T : struct =>
        option.CustomParser = result =>
        {
            if (result.Tokens.Count == 0) return option.DefaultValueFactory is { } factory ? factory(result) : null;
            var text = result.Tokens[^1].Value;
            if (parse(text, out var value)) return value;
            result.AddError($"{option.Name}: '{text}' is not {expected}.");
            return null;
        };

    private static bool ParseInt32(string text, out int value) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    private static bool ParseInt64(string text, out long value) => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    private static bool ParseDouble(string text, out double value) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
}
