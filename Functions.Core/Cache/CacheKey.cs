using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Functions.Core.Requests;

namespace Functions.Core.Cache;

/// <summary>
/// The cache key: SHA-256 over a canonical form of everything that changes the answer (the resolved model, every
/// message, the generation settings, the tools) and the scope the answer may be shared in. Canonical means JSON
/// property order, whitespace, and a setting left out versus set to its default do not change the key.
/// </summary>
public static class CacheKey
{
    /// <summary>The defaults the API applies to a setting that is left out.</summary>
    private const double DefaultTemperature = 1;
    private const double DefaultTopP = 1;

    /// <returns>64 lowercase hex characters: a valid Table Storage key.</returns>
    public static string Compute(ChatRequest request, string scope) =>
        Convert.ToHexStringLower(SHA256.HashData(Canonical(request, scope)));

    /// <summary>The scope part of the key: the caller's own, or one space for every caller.</summary>
    public static string Scope(CacheScope scope, string caller) => scope == CacheScope.Shared ? "shared" : "caller:" + caller;

    internal static byte[] Canonical(ChatRequest request, string scope)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", 1);
            json.WriteString("scope", scope);
            json.WriteString("model", request.Model);
            json.WriteStartArray("messages");
            foreach (var message in request.Messages)
            {
                json.WriteStartArray();
                json.WriteStringValue(message.Role);
                json.WriteStringValue(message.Content);
                // Written only when present, so the keys of plain messages are what they always were.
                if (message.ToolCallId is not null || message.ToolCalls is not null)
                {
                    json.WriteStringValue(message.ToolCallId);
                    json.WriteStartArray();
                    foreach (var call in message.ToolCalls ?? [])
                    {
                        json.WriteStringValue(call.Id);
                        json.WriteStringValue(call.Name);
                        json.WriteStringValue(call.Arguments);
                    }
                    json.WriteEndArray();
                }
                json.WriteEndArray();
            }
            json.WriteEndArray();
            // Adding +0.0 turns -0 into 0.
            json.WriteNumber("temperature", (request.Temperature ?? DefaultTemperature) + 0.0);
            json.WriteNumber("topP", (request.TopP ?? DefaultTopP) + 0.0);
            WriteOptional(json, "maxTokens", request.MaxTokens);
            WriteOptional(json, "seed", request.Seed);
            // Stop sequences are a set: their order and repeats do not change where the answer stops.
            json.WriteStartArray("stop");
            foreach (var stop in (request.Stop ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                json.WriteStringValue(stop);
            }
            json.WriteEndArray();
            WriteResponseFormat(json, request.ResponseFormat ?? new ResponseFormat(ResponseFormat.Text));
            // Tools keep their order: the model reads them in it.
            json.WriteStartArray("tools");
            foreach (var tool in request.Tools ?? [])
            {
                json.WriteStartObject();
                json.WriteString("name", tool.Name);
                json.WriteString("description", tool.Description);
                WriteOptional(json, "parameters", tool.Parameters);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (request.ToolChoice is { } toolChoice)
            {
                json.WriteString("toolChoice", toolChoice);
            }
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteResponseFormat(Utf8JsonWriter json, ResponseFormat format)
    {
        json.WriteStartObject("responseFormat");
        json.WriteString("type", format.Type);
        if (format.JsonSchema is { } schema)
        {
            json.WriteString("name", schema.Name);
            json.WriteString("description", schema.Description);
            json.WritePropertyName("schema");
            WriteCanonical(json, schema.Schema);
            json.WriteBoolean("strict", schema.Strict ?? false);
        }
        json.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, JsonElement? value)
    {
        json.WritePropertyName(name);
        if (value is { } element)
        {
            WriteCanonical(json, element);
        }
        else
        {
            json.WriteNullValue();
        }
    }

    /// <summary>
    /// Any JSON with object properties in ordinal order and no whitespace. Integers are written in one form; other numbers
    /// keep their text, so two spellings of one fraction at worst miss the cache, never share an entry wrongly.
    /// </summary>
    private static void WriteCanonical(Utf8JsonWriter json, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                json.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(property => property.Name, StringComparer.Ordinal))
                {
                    json.WritePropertyName(property.Name);
                    WriteCanonical(json, property.Value);
                }
                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(json, item);
                }
                json.WriteEndArray();
                break;
            case JsonValueKind.Number when element.TryGetInt64(out var integer):
                json.WriteNumberValue(integer);
                break;
            case JsonValueKind.Number:
                json.WriteRawValue(element.GetRawText());
                break;
            default:
                element.WriteTo(json);
                break;
        }
    }
}
