using System;
using System.Collections.Generic;
using System.Text.Json;

namespace OneLoRA.Serialization;

/// <summary>
/// JSON parsing for files we read from users (adapter_config.json): the bytes must be UTF-8 and no object may
/// hold a key twice (System.Text.Json would keep the last one silently). Failures are one line naming the
/// byte offset or the JSON path of the key.
/// </summary>
internal static class StrictJson
{
    /// <summary>Parses <paramref name="bytes"/>; the caller disposes the document.</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="fail">Makes the documented exception from a problem description.</param>
    public static JsonDocument Parse(byte[] bytes, Func<string, Exception> fail)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            int offset = SafetensorsFile.FirstInvalidUtf8(bytes);
            throw fail($"the file is not valid UTF-8: byte 0x{bytes[offset]:X2} at offset {offset} does not start a valid UTF-8 sequence.");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw fail($"the file is not valid JSON: {e.Message}");
        }
        try
        {
            if (FirstDuplicate(document.RootElement, "$") is { } duplicate)
                throw fail($"the key {duplicate} appears twice; duplicate keys are not allowed.");
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>The JSON path of the first key repeated inside one object, or null.</summary>
    public static string? FirstDuplicate(JsonElement element, string path)
    {
        // JsonDocument limits nesting to 64 levels, which bounds the recursion.
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in element.EnumerateObject())
                {
                    var here = $"{path}.{p.Name}";
                    if (!seen.Add(p.Name)) return $"'{here}'";
                    if (FirstDuplicate(p.Value, here) is { } inner) return inner;
                }
                return null;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in element.EnumerateArray())
                    if (FirstDuplicate(item, $"{path}[{i++}]") is { } inner) return inner;
                return null;
            default:
                return null;
        }
    }
}
