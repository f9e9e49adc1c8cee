using System.Collections.Immutable;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Functions.Tests.Infra;

/// <summary>
/// A compiled ARM template with its modules (nested deployments) flattened, so a test can ask for "the storage
/// account" wherever the module tree puts it. Values stay ARM expressions (e.g. <c>[parameters('name')]</c>).
/// </summary>
public sealed partial class ArmTemplate
{
    private ArmTemplate(JsonObject root, string text)
    {
        Root = root;
        Text = text;
        Resources = Flatten(root, [], module: null).ToList();
    }

    public JsonObject Root { get; }

    /// <summary>The whole template as compiled, for scans that must cover everything.</summary>
    public string Text { get; }

    /// <summary>Every resource the template deploys, in every module; <c>existing</c> references are left out.</summary>
    public IReadOnlyList<ArmResource> Resources { get; }

    /// <summary>Every template in the tree: the root and each module's.</summary>
    public IEnumerable<JsonObject> Templates =>
        Resources.Where(resource => resource.Type == DeploymentType)
            .Select(resource => resource.Properties["template"]).OfType<JsonObject>()
            .Prepend(Root);

    private const string DeploymentType = "Microsoft.Resources/deployments";

    public static ArmTemplate Load(string path)
    {
        var text = File.ReadAllText(path);
        return new ArmTemplate(JsonNode.Parse(text)!.AsObject(), text);
    }

    public IEnumerable<ArmResource> OfType(string type) =>
        Resources.Where(resource => string.Equals(resource.Type, type, StringComparison.OrdinalIgnoreCase));

    public ArmResource Single(string type)
    {
        var matches = OfType(type).ToList();
        Assert.True(matches.Count == 1, $"Expected exactly one {type} in the template, found {matches.Count}.");
        return matches[0];
    }

    private static IEnumerable<ArmResource> Flatten(JsonObject template, ImmutableList<string> conditions, ArmResource? module)
    {
        // Bicep emits an array, or (languageVersion 2.0) an object keyed by symbolic name.
        var resources = template["resources"] switch
        {
            JsonArray array => array.OfType<JsonObject>(),
            JsonObject bySymbolicName => bySymbolicName.Select(pair => pair.Value).OfType<JsonObject>(),
            _ => [],
        };

        foreach (var body in resources)
        {
            if (body["existing"]?.GetValue<bool>() == true)
            {
                continue;
            }

            var ownConditions = body["condition"] is { } condition ? conditions.Add(condition.ToString()) : conditions;
            var resource = new ArmResource((string)body["type"]!, (string)body["name"]!, body, ownConditions, module);
            yield return resource;

            if (resource.Type == DeploymentType && resource.Properties["template"] is JsonObject nested)
            {
                foreach (var inner in Flatten(nested, ownConditions, resource))
                {
                    yield return inner;
                }
            }
        }
    }

    /// <summary>The name in <c>[parameters('name')]</c>-style references within an expression.</summary>
    public static IEnumerable<string> ParameterReferences(string expression) =>
        ParameterReference().Matches(expression).Select(match => match.Groups[1].Value);

    [GeneratedRegex(@"parameters\('([^']+)'\)")]
    private static partial Regex ParameterReference();
}

/// <param name="Conditions">The resource's own condition and those of the modules around it; empty when always deployed.</param>
/// <param name="Module">The module (nested deployment) the resource is declared in; null at the root.</param>
public sealed record ArmResource(string Type, string Name, JsonObject Body, IReadOnlyList<string> Conditions, ArmResource? Module)
{
    public JsonObject Properties => Body["properties"] as JsonObject ?? [];

    /// <summary>A property by dotted path: strings as they are, anything else as JSON (<c>false</c>, <c>4096</c>, <c>{...}</c>).</summary>
    public string? Text(string propertyPath) =>
        propertyPath.Split('.').Aggregate((JsonNode?)Body, (node, key) => node?[key]) switch
        {
            null => null,
            JsonValue value when value.TryGetValue<string>(out var text) => text,
            var other => other.ToJsonString(),
        };

    /// <summary>The value the enclosing module passes for one of its parameters, as written in the parent template.</summary>
    public string? ModuleParameter(string name) => Module?.Properties["parameters"]?[name]?["value"]?.ToString();

    public override string ToString() => $"{Type} {Name}";
}
