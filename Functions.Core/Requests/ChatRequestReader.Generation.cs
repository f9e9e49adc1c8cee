using System.Text.Json;
using System.Text.RegularExpressions;

namespace Functions.Core.Requests;

/// <summary>The optional generation settings: <c>topP</c>, <c>seed</c>, <c>stop</c>, <c>responseFormat</c> and <c>tools</c>.</summary>
public sealed partial class ChatRequestReader
{
    public const int MaxStopSequences = 4;
    public const int MaxTools = 128;

    private static readonly IReadOnlySet<string> ResponseFormatFields = Set("type", "jsonSchema");
    private static readonly IReadOnlySet<string> JsonSchemaFields = Set("name", "description", "schema", "strict");
    private static readonly IReadOnlySet<string> ToolFields = Set("type", "function");
    private static readonly IReadOnlySet<string> FunctionFields = Set("name", "description", "parameters");

    private static HashSet<string> Set(params string[] names) => new(names, StringComparer.Ordinal);

    private static double? ReadTopP(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (Optional(root, "topP") is not { } element)
        {
            return null;
        }
        if (element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var value) && value is >= 0 and <= 1)
        {
            return value;
        }
        errors["topP"] = ["Must be a number from 0 to 1."];
        return null;
    }

    private static long? ReadSeed(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (Optional(root, "seed") is not { } element)
        {
            return null;
        }
        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value))
        {
            return value;
        }
        errors["seed"] = ["Must be a whole number."];
        return null;
    }

    /// <summary>A string or an array of up to four; one string and an array holding it are the same request.</summary>
    private static IReadOnlyList<string>? ReadStop(JsonElement root, Dictionary<string, string[]> errors)
    {
        var element = Optional(root, "stop");
        if (element is null)
        {
            return null;
        }
        if (element.Value.ValueKind == JsonValueKind.String)
        {
            return NonEmptyString(element.Value, "stop", errors) is { } single ? [single] : null;
        }
        if (element.Value.ValueKind != JsonValueKind.Array || element.Value.GetArrayLength() > MaxStopSequences)
        {
            errors["stop"] = [$"Must be a string or an array of up to {MaxStopSequences} strings."];
            return null;
        }

        var stops = element.Value.EnumerateArray()
            .Select((item, index) => NonEmptyString(item, $"stop[{index}]", errors))
            .ToList();
        return stops.Count == 0 || stops.Contains(null) ? null : stops.OfType<string>().ToList();
    }

    private static ResponseFormat? ReadResponseFormat(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (Optional(root, "responseFormat") is not { } element)
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors["responseFormat"] = ["Must be an object such as {\"type\":\"json_object\"}."];
            return null;
        }
        JsonRules.RejectUnknownProperties(element, "responseFormat", ResponseFormatFields, errors, CamelCaseHint(ResponseFormatFields));

        var type = element.TryGetProperty("type", out var typeElement) && typeElement.ValueKind == JsonValueKind.String
            ? typeElement.GetString()!
            : null;
        if (type is null || !ResponseFormat.Types.Contains(type))
        {
            errors["responseFormat.type"] = ["Must be one of: text, json_object, json_schema."];
            return null;
        }

        var schemaElement = Optional(element, "jsonSchema");
        if (type != ResponseFormat.JsonSchemaType)
        {
            if (schemaElement is not null)
            {
                errors["responseFormat.jsonSchema"] = ["Only allowed when type is json_schema."];
            }
            return new ResponseFormat(type);
        }
        if (schemaElement is not { ValueKind: JsonValueKind.Object } schemaObject)
        {
            errors["responseFormat.jsonSchema"] = ["Required with json_schema: an object with 'name' and 'schema'."];
            return null;
        }

        const string path = "responseFormat.jsonSchema";
        JsonRules.RejectUnknownProperties(schemaObject, path, JsonSchemaFields, errors, CamelCaseHint(JsonSchemaFields));
        var name = Name(schemaObject, path, errors);
        var description = OptionalString(schemaObject, "description", path, errors);
        var schema = Optional(schemaObject, "schema");
        if (schema is not { ValueKind: JsonValueKind.Object })
        {
            errors[$"{path}.schema"] = ["Required: a JSON Schema object."];
        }
        bool? strict = null;
        if (Optional(schemaObject, "strict") is { } strictElement)
        {
            if (strictElement.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                strict = strictElement.GetBoolean();
            }
            else
            {
                errors[$"{path}.strict"] = ["Must be true or false."];
            }
        }
        return name is null || schema is not { ValueKind: JsonValueKind.Object }
            ? null
            : new ResponseFormat(type, new JsonSchemaFormat(name, description, schema.Value.Clone(), strict));
    }

    private static IReadOnlyList<FunctionTool>? ReadTools(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (Optional(root, "tools") is not { } element)
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() > MaxTools)
        {
            errors["tools"] = [$"Must be an array of up to {MaxTools} function tools."];
            return null;
        }

        var tools = new List<FunctionTool>();
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            var path = $"tools[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors[path] = ["Must be an object: {\"type\":\"function\",\"function\":{\"name\":…}}."];
                continue;
            }
            JsonRules.RejectUnknownProperties(item, path, ToolFields, errors);
            if (!item.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
            {
                errors[$"{path}.type"] = ["Must be \"function\"."];
            }
            if (!item.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                errors[$"{path}.function"] = ["Required: an object with 'name', and optionally 'description' and 'parameters'."];
                continue;
            }

            JsonRules.RejectUnknownProperties(function, $"{path}.function", FunctionFields, errors);
            var name = Name(function, $"{path}.function", errors);
            var description = OptionalString(function, "description", $"{path}.function", errors);
            var parameters = Optional(function, "parameters");
            if (parameters is { ValueKind: not JsonValueKind.Object })
            {
                errors[$"{path}.function.parameters"] = ["Must be a JSON Schema object."];
                continue;
            }
            if (name is not null && tools.Any(tool => tool.Name == name))
            {
                errors[$"{path}.function.name"] = [$"Another tool is already named '{name}'."];
                continue;
            }
            if (name is not null)
            {
                tools.Add(new FunctionTool(name, description, parameters?.Clone()));
            }
        }
        return tools.Count == 0 ? null : tools;
    }

    /// <summary>The property, or null when it is absent or JSON null (both mean "not set").</summary>
    private static JsonElement? Optional(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? NonEmptyString(JsonElement element, string path, Dictionary<string, string[]> errors)
    {
        if (element.ValueKind == JsonValueKind.String && element.GetString() is { Length: > 0 } value)
        {
            return value;
        }
        errors[path] = ["Must be a non-empty string."];
        return null;
    }

    private static string? OptionalString(JsonElement parent, string name, string path, Dictionary<string, string[]> errors)
    {
        if (Optional(parent, name) is not { } element)
        {
            return null;
        }
        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString();
        }
        errors[$"{path}.{name}"] = ["Must be a string."];
        return null;
    }

    /// <summary>OpenAI's rule for function and schema names.</summary>
    private static string? Name(JsonElement parent, string path, Dictionary<string, string[]> errors)
    {
        if (parent.TryGetProperty("name", out var element) && element.ValueKind == JsonValueKind.String
            && element.GetString() is { } name && NamePattern().IsMatch(name))
        {
            return name;
        }
        errors[$"{path}.name"] = ["Required: 1 to 64 letters, digits, '_' or '-'."];
        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
