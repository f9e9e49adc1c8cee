using System.Text.Json;
using System.Text.RegularExpressions;

namespace Functions.Core.Requests;

/// <summary>
/// Checks over a parsed JSON body that every reader of a request applies (the camelCase <c>/api/chat</c> and the
/// snake_case OpenAI-compatible route alike), so that what a filter reads is what the model is sent. Paths are
/// written <c>messages[0].role</c>; a property name that is not a plain identifier is never echoed back.
/// </summary>
public static partial class JsonRules
{
    /// <summary>The path of the first string or property name that cannot be decoded, or null when all text is valid.</summary>
    /// <remarks>JsonDocument accepts escapes such as <c>"\ud800"</c> (a lone surrogate) that no .NET string can hold.</remarks>
    public static string? FindUndecodableText(JsonElement element, string path = "$")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return TryGetString(element, out _) ? null : path;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindUndecodableText(item, $"{path}[{index++}]") is { } bad)
                    {
                        return bad;
                    }
                }
                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!TryGetName(property, out var name))
                    {
                        return path;
                    }
                    if (FindUndecodableText(property.Value, Child(path, name)) is { } bad)
                    {
                        return bad;
                    }
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// The path of the first property that appears twice in one object (compared after unescaping, so
    /// <c>"role"</c> and <c>"r\u006fle"</c> are the same key), or null. Readers differ on which of two values wins;
    /// refusing both keeps every reader of the request on the same one. Call after <see cref="FindUndecodableText"/>.
    /// </summary>
    public static string? FindDuplicateProperty(JsonElement element, string path = "$")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindDuplicateProperty(item, $"{path}[{index++}]") is { } duplicate)
                    {
                        return duplicate;
                    }
                }
                return null;
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                    {
                        return Child(path, property.Name);
                    }
                    if (FindDuplicateProperty(property.Value, Child(path, property.Name)) is { } duplicate)
                    {
                        return duplicate;
                    }
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Adds an error for every property of <paramref name="element"/> not in <paramref name="known"/>: a field the
    /// reader would otherwise drop without a word. <paramref name="hint"/> may name the field the client meant.
    /// </summary>
    public static void RejectUnknownProperties(JsonElement element, string path, IReadOnlySet<string> known,
        Dictionary<string, string[]> errors, Func<string, string?>? hint = null)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        foreach (var property in element.EnumerateObject())
        {
            if (known.Contains(property.Name))
            {
                continue;
            }
            var field = Child(path, property.Name);
            var meant = IsPlainName(property.Name) ? hint?.Invoke(property.Name) : null;
            errors.TryAdd(field, [meant is null
                ? $"Unknown field. Allowed here: {string.Join(", ", known.Order(StringComparer.Ordinal))}."
                : $"Unknown field. Did you mean '{meant}'?"]);
        }
    }

    /// <summary><c>max_tokens</c> → <c>maxTokens</c>.</summary>
    public static string SnakeToCamel(string name)
    {
        var parts = name.Split('_', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 0
            ? name
            : parts[0] + string.Concat(parts.Skip(1).Select(part => char.ToUpperInvariant(part[0]) + part[1..]));
    }

    /// <summary>The string value, or false when it holds text no .NET string can (a lone surrogate).</summary>
    public static bool TryGetString(JsonElement element, out string? value)
    {
        try
        {
            value = element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = null;
            return false;
        }
    }

    /// <summary>A child's path; a name that is not a plain identifier is shown as <c>[?]</c>, so input is never reflected.</summary>
    public static string Child(string path, string name)
    {
        var shown = IsPlainName(name) ? name : "[?]";
        return path == "$" ? shown : shown == "[?]" ? path + shown : $"{path}.{shown}";
    }

    private static bool TryGetName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = "";
            return false;
        }
    }

    private static bool IsPlainName(string name) => PlainName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_$-]{0,63}$")]
    private static partial Regex PlainName();
}
