using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace OneLoRA.Fuzz.Tests;

/// <summary>
/// Deterministic mutations of a valid safetensors file (8-byte LE header length, JSON header, data) or of a JSON
/// config: byte flips, header length edits, shape/dtype/offset edits, duplicate and huge names, invalid UTF-8,
/// non-finite payloads, many entries, truncation. The same seed always gives the same bytes.
/// </summary>
internal static class Mutator
{
    private static readonly string[] Shapes =
    [
        "[0,9223372036854775807,9223372036854775807]", "[9223372036854775807]", "[-1]", "[4294967296,4294967296]",
        "[1e3]", "[\"a\"]", "[]", "[3,0]", "[2.5]", "null", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]",
        "[3037000500,3037000500]", "[1,2,3]", "[5]", "[5,4]",
    ];

    private static readonly string[] DTypes = ["F32", "F64", "BF16", "F16", "I64", "I32", "BOOL", "U8", "F8_E4M3", "XYZ", "", "f32", "F32\\u0000"];

    private static readonly string[] Offsets =
    [
        "[0,0]", "[4,0]", "[-4,0]", "[0,9223372036854775807]", "[9223372036854775800,9223372036854775807]", "[0]", "[0,4,8]",
        "[\"0\",\"4\"]", "[0,1e20]", "[0,3]", "[2,6]", "null",
    ];

    public static string Kind(int op) => op switch
    {
        0 => "byte flip", 1 => "header length", 2 => "shape", 3 => "dtype", 4 => "offsets", 5 => "duplicate entry",
        6 => "duplicate field", 7 => "huge name", 8 => "invalid UTF-8", 9 => "non-finite payload", 10 => "truncation",
        11 => "many entries", 12 => "metadata", _ => "several",
    };

    public const int Operations = 14;

    /// <summary>Mutation <paramref name="op"/> of a safetensors file, drawn from <paramref name="random"/>.</summary>
    public static byte[] Safetensors(byte[] file, int op, Random random)
    {
        // A chained mutation may have broken the length field already: then only byte-level edits apply.
        long declared = file.Length >= 8 ? BitConverter.ToInt64(file, 0) : -1;
        if (declared < 0 || declared > file.Length - 8)
        {
            if (file.Length == 0) return file;
            var copy = (byte[])file.Clone();
            copy[random.Next(copy.Length)] ^= (byte)(1 + random.Next(255));
            return op == 10 ? copy[..random.Next(copy.Length)] : copy;
        }
        var (header, data) = Split(file);
        switch (op)
        {
            case 0:
                {
                    var copy = (byte[])file.Clone();
                    int flips = 1 + random.Next(4);
                    for (int i = 0; i < flips; i++) copy[random.Next(copy.Length)] ^= (byte)(1 + random.Next(255));
                    return copy;
                }
            case 1:
                {
                    var copy = (byte[])file.Clone();
                    long length = BitConverter.ToInt64(copy, 0);
                    long[] choices = [0, 1, length - 1, length + 1, length + 8, long.MaxValue, -1, 100_000_001, file.Length, file.Length - 7, length * 2];
                    BitConverter.GetBytes(choices[random.Next(choices.Length)]).CopyTo(copy, 0);
                    return copy;
                }
            case 2: return Join(ReplaceOne(header, "\"shape\":\\[[^\\]]*\\]", "\"shape\":" + Pick(Shapes, random), random), data, random);
            case 3: return Join(ReplaceOne(header, "\"dtype\":\"[^\"]*\"", "\"dtype\":\"" + Pick(DTypes, random) + "\"", random), data, random);
            case 4: return Join(ReplaceOne(header, "\"data_offsets\":\\[[^\\]]*\\]", "\"data_offsets\":" + Pick(Offsets, random), random), data, random);
            case 5:
                {
                    var entries = Regex.Matches(header, "\"[^\"]+\":\\{\"dtype\"[^}]*\\}");
                    if (entries.Count == 0) return file;
                    var entry = entries[random.Next(entries.Count)].Value;
                    return Join(header.Insert(1, entry + ","), data, random);
                }
            case 6:
                {
                    string[] fields = ["\"dtype\":\"F64\",", "\"shape\":[1],", "\"data_offsets\":[0,4],"];
                    var at = header.IndexOf("{\"dtype\"", 1, StringComparison.Ordinal);
                    if (at < 0) return file;
                    return Join(header.Insert(at + 1, Pick(fields, random)), data, random);
                }
            case 7:
                {
                    int[] lengths = [1025, 4096, 100_000, 1_000_000];
                    var name = new string((char)('a' + random.Next(26)), Pick(lengths, random));
                    return Join(ReplaceOne(header, "\"[^\"_][^\"]*\":\\{", "\"" + name + "\":{", random), data, random);
                }
            case 8:
                {
                    var bytes = Encoding.UTF8.GetBytes(header);
                    byte[] bad = [0xFF, 0xC3, 0xE2, 0x80, 0xED, 0xF4, 0xC0];
                    // Inside a string token: after a quote that opens a key or a value.
                    var quotes = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] == (byte)'"' && i + 1 < bytes.Length && bytes[i + 1] != (byte)':').ToList();
                    int at = quotes.Count > 0 ? quotes[random.Next(quotes.Count)] + 1 : random.Next(bytes.Length);
                    var list = bytes.ToList();
                    list.Insert(Math.Min(at, list.Count), Pick(bad, random));
                    return JoinBytes(list.ToArray(), data);
                }
            case 9:
                {
                    var copy = (byte[])file.Clone();
                    int start = 8 + Encoding.UTF8.GetByteCount(header);
                    if (copy.Length - start < 4) return copy;
                    uint[] patterns = [0x7FC00000, 0x7F800000, 0xFF800000, 0xFFFFFFFF];
                    int count = 1 + random.Next(4);
                    for (int i = 0; i < count; i++)
                    {
                        int at = start + 4 * random.Next((copy.Length - start) / 4);
                        BitConverter.GetBytes(Pick(patterns, random)).CopyTo(copy, at);
                    }
                    return copy;
                }
            case 10: return file[..random.Next(file.Length)];
            case 11:
                {
                    int[] counts = [1000, 20_000, 120_000];
                    int n = Pick(counts, random);
                    var sb = new StringBuilder("{");
                    for (int i = 0; i < n; i++) sb.Append("\"t").Append(i).Append("\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},");
                    return Join(header.Insert(0, sb.ToString()).Remove(sb.Length, 1), data, random);
                }
            case 12:
                {
                    string[] metadata = ["{\"format\":\"pt\",\"format\":\"np\"}", "{\"a\":1}", "[]", "\"x\"", "{\"a\":{\"b\":\"c\"}}", "null"];
                    var replaced = Regex.Replace(header, "\"__metadata__\":\\{[^}]*\\}", "\"__metadata__\":" + Pick(metadata, random));
                    return Join(replaced == header ? header.Insert(1, "\"__metadata__\":" + Pick(metadata, random) + ",") : replaced, data, random);
                }
            default:
                {
                    var bytes = file;
                    for (int i = 0; i < 2; i++) bytes = Safetensors(bytes, random.Next(Operations - 1), random);
                    return bytes;
                }
        }
    }

    /// <summary>Mutation of a JSON config file (adapter_config.json).</summary>
    public static byte[] Json(byte[] json, int op, Random random)
    {
        var text = Encoding.UTF8.GetString(json);
        switch (op % 6)
        {
            case 0:
                {
                    var copy = (byte[])json.Clone();
                    copy[random.Next(copy.Length)] ^= (byte)(1 + random.Next(255));
                    return copy;
                }
            case 1:
                {
                    var bytes = json.ToList();
                    bytes.Insert(random.Next(bytes.Count), 0xFF);
                    return bytes.ToArray();
                }
            case 2: return Encoding.UTF8.GetBytes(text.Insert(text.IndexOf('{') + 1, "\"peft_type\":\"LORA\","));
            case 3: return Encoding.UTF8.GetBytes(ReplaceOne(text, "\"peft_type\":\\s*\"[^\"]*\"", "\"peft_type\":" + Pick(["1", "null", "\"\"", "\"VERA\"", "[]"], random), random));
            case 4: return json[..random.Next(json.Length)];
            default: return Encoding.UTF8.GetBytes(ReplaceOne(text, ":\\s*[0-9]+", ":" + Pick(["-1", "1e400", "\"x\"", "9223372036854775808", "null"], random), random));
        }
    }

    private static T Pick<T>(T[] items, Random random) => items[random.Next(items.Length)];

    private static (string Header, byte[] Data) Split(byte[] file)
    {
        long length = BitConverter.ToInt64(file, 0);
        return (Encoding.UTF8.GetString(file, 8, (int)length), file[(8 + (int)length)..]);
    }

    private static string ReplaceOne(string text, string pattern, string replacement, Random random)
    {
        var matches = Regex.Matches(text, pattern);
        if (matches.Count == 0) return text;
        var m = matches[random.Next(matches.Count)];
        return text[..m.Index] + replacement + text[(m.Index + m.Length)..];
    }

    /// <summary>Header and data again; the length field is right, except now and then (off by a few bytes).</summary>
    private static byte[] Join(string header, byte[] data, Random random)
    {
        var bytes = Encoding.UTF8.GetBytes(header);
        var file = JoinBytes(bytes, data);
        if (random.Next(8) == 0) BitConverter.GetBytes((long)bytes.Length + random.Next(-3, 4)).CopyTo(file, 0);
        return file;
    }

    private static byte[] JoinBytes(byte[] header, byte[] data)
    {
        var file = new byte[8 + header.Length + data.Length];
        BitConverter.GetBytes((long)header.Length).CopyTo(file, 0);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }
}
