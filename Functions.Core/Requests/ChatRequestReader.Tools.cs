using System.Text.Json;

namespace Functions.Core.Requests;

/// <summary>
/// The tool-calling parts of a request: <c>toolChoice</c>, an assistant message's <c>toolCalls</c> and a tool
/// message's <c>toolCallId</c>; and <c>user</c>, the end user's id passed on to the provider for abuse monitoring.
/// </summary>
public sealed partial class ChatRequestReader
{
    public const int MaxToolCallsPerMessage = 128;
    public const int MaxUserChars = 256;

    private static readonly IReadOnlySet<string> ToolCallFields = Set("id", "type", "function");
    private static readonly IReadOnlySet<string> ToolCallFunctionFields = Set("name", "arguments");

    private static string? ReadToolChoice(JsonElement root, IReadOnlyList<FunctionTool>? tools, Dictionary<string, string[]> errors)
    {
        if (Optional(root, "toolChoice") is not { } element)
        {
            return null;
        }
        string? choice = null;
        if (element.ValueKind == JsonValueKind.String && ToolChoices.Modes.Contains(element.GetString()!))
        {
            choice = element.GetString();
        }
        else if (element.ValueKind == JsonValueKind.Object
                 && element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "function"
                 && Optional(element, "function") is { ValueKind: JsonValueKind.Object } function)
        {
            choice = Name(function, "toolChoice.function", errors);
            if (choice is not null && !(tools ?? []).Any(tool => tool.Name == choice))
            {
                errors["toolChoice.function.name"] = [$"Names no tool of this request ('{choice}')."];
                return null;
            }
            return choice;
        }
        if (choice is null)
        {
            errors["toolChoice"] = ["Must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":…}}."];
        }
        else if (choice != ToolChoices.None && tools is null)
        {
            errors["toolChoice"] = ["Needs 'tools'."];
            return null;
        }
        return choice;
    }

    private static string? ReadUser(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (Optional(root, "user") is not { } element)
        {
            return null;
        }
        if (element.ValueKind == JsonValueKind.String && element.GetString() is { Length: > 0 and <= MaxUserChars } user)
        {
            return user;
        }
        errors["user"] = [$"Must be a string of 1 to {MaxUserChars} characters."];
        return null;
    }

    /// <summary>The calls an assistant message made: <c>[{"id","type":"function","function":{"name","arguments"}}]</c>.</summary>
    private static IReadOnlyList<ToolCall>? ReadToolCalls(JsonElement message, string path, Dictionary<string, string[]> errors)
    {
        if (Optional(message, "toolCalls") is not { } element)
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() is 0 or > MaxToolCallsPerMessage)
        {
            errors[$"{path}.toolCalls"] = [$"Must be an array of 1 to {MaxToolCallsPerMessage} tool calls."];
            return null;
        }
        var calls = new List<ToolCall>();
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            var callPath = $"{path}.toolCalls[{index++}]";
            JsonRules.RejectUnknownProperties(item, callPath, ToolCallFields, errors);
            var id = item.ValueKind == JsonValueKind.Object && Optional(item, "id") is { } idElement
                ? NonEmptyString(idElement, $"{callPath}.id", errors)
                : null;
            if (id is null)
            {
                errors.TryAdd($"{callPath}.id", ["Required: a non-empty string."]);
                continue;
            }
            if (Optional(item, "function") is not { ValueKind: JsonValueKind.Object } function)
            {
                errors[$"{callPath}.function"] = ["Required: an object with 'name' and 'arguments'."];
                continue;
            }
            JsonRules.RejectUnknownProperties(function, $"{callPath}.function", ToolCallFunctionFields, errors);
            var name = Name(function, $"{callPath}.function", errors);
            var arguments = OptionalString(function, "arguments", $"{callPath}.function", errors) ?? "";
            if (name is not null)
            {
                calls.Add(new ToolCall(id, name, arguments));
            }
        }
        return calls.Count == index ? calls : null;
    }

    private static string? ReadToolCallId(JsonElement message, string path, string? role, Dictionary<string, string[]> errors)
    {
        var element = Optional(message, "toolCallId");
        if (role != ChatRoles.Tool)
        {
            if (element is not null)
            {
                errors[$"{path}.toolCallId"] = ["Only allowed on a tool message."];
            }
            return null;
        }
        if (element is { } value && NonEmptyString(value, $"{path}.toolCallId", errors) is { } id)
        {
            return id;
        }
        errors.TryAdd($"{path}.toolCallId", ["Required on a tool message: the id of the tool call it answers."]);
        return null;
    }
}
