using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Functions.Tests.Infra;

/// <summary>azure.yaml and infra/main.parameters.json agree with the template, so "azd up" provisions and deploys.</summary>
[Collection(InfraCollection.Name)]
public sealed partial class AzdConfigurationTests(BicepTemplateFixture bicep)
{
    private static JsonObject MainParameters =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(BicepTemplateFixture.InfraFolder, "main.parameters.json")))!["parameters"]!.AsObject();

    private JsonObject TemplateParameters => bicep.Template.Root["parameters"]!.AsObject();

    [Fact]
    public void AzureYaml_DeploysTheFunctionsProjectToTheFunctionAppTaggedForIt()
    {
        var services = AzureYamlServices(File.ReadAllLines(Path.Combine(BicepCli.RepositoryRoot, "azure.yaml")));
        var site = bicep.Template.Single("Microsoft.Web/sites");

        Assert.Equal(["api", "web"], services.Keys.Order());
        var service = services["api"];
        Assert.Equal("./Functions", service.GetValueOrDefault("project"));
        Assert.True(File.Exists(Path.Combine(BicepCli.RepositoryRoot, "Functions", "Functions.csproj")));
        Assert.Equal("function", service.GetValueOrDefault("host"));
        Assert.Equal("dotnet", service.GetValueOrDefault("language"));
        Assert.Equal("api", TaggedServiceName(site));
    }

    [Fact]
    public void AzureYaml_DeploysTheDemoSpaAsStaticFilesToTheStaticWebAppTaggedForIt()
    {
        var service = AzureYamlServices(File.ReadAllLines(Path.Combine(BicepCli.RepositoryRoot, "azure.yaml")))["web"];
        var staticSite = bicep.Template.Single("Microsoft.Web/staticSites");

        Assert.Equal("./spa", service.GetValueOrDefault("project"));
        Assert.True(File.Exists(Path.Combine(BicepCli.RepositoryRoot, "spa", "index.html")));
        Assert.Equal("staticwebapp", service.GetValueOrDefault("host"));
        // No language: azd runs no build; the files are the site.
        Assert.False(service.ContainsKey("language"));
        Assert.Equal(".", service.GetValueOrDefault("dist"));
        Assert.Equal("web", TaggedServiceName(staticSite));
        Assert.True(File.Exists(Path.Combine(BicepTemplateFixture.InfraFolder, "hooks", "prepare-spa.sh")));
    }

    /// <summary>azd finds the resource to deploy a service to by its azd-service-name tag, set from a module parameter.</summary>
    private static string? TaggedServiceName(ArmResource resource)
    {
        var tagParameter = ServiceNameTag().Match(resource.Text("tags") ?? "") is { Success: true } tag ? tag.Groups[1].Value : "";
        return resource.ModuleParameter(tagParameter);
    }

    [Fact]
    public void MainParameters_BindEveryRequiredParameterAndNoUnknownOne()
    {
        var bound = MainParameters.Select(parameter => parameter.Key).ToList();
        var required = TemplateParameters.Where(parameter => parameter.Value?["defaultValue"] is null).Select(parameter => parameter.Key);

        Assert.Empty(bound.Except(TemplateParameters.Select(parameter => parameter.Key)));
        Assert.Empty(required.Except(bound));
    }

    [Fact]
    public void MainParameters_AzdEnvironmentDefaultsEqualTheTemplateDefaults()
    {
        var mismatches =
            from parameter in MainParameters
            let value = parameter.Value?["value"]
            where value is JsonValue
            let match = EnvironmentDefault().Match(value.ToString())
            where match.Success
            let templateDefault = TemplateParameters[parameter.Key]?["defaultValue"]
            let expected = templateDefault is JsonValue text && text.TryGetValue<string>(out var s) ? s : templateDefault?.ToJsonString()
            where !string.Equals(match.Groups["default"].Value, expected, StringComparison.OrdinalIgnoreCase)
            select $"{parameter.Key}: main.parameters.json falls back to '{match.Groups["default"].Value}', main.bicep to '{expected}'";

        Assert.Empty(mismatches);
    }

    /// <summary>The services block of azure.yaml: service name → its scalar properties (enough for this file's shape).</summary>
    private static Dictionary<string, Dictionary<string, string>> AzureYamlServices(string[] lines)
    {
        var services = new Dictionary<string, Dictionary<string, string>>();
        var inServices = false;
        Dictionary<string, string>? current = null;
        foreach (var line in lines.Where(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#')))
        {
            var indent = line.Length - line.TrimStart().Length;
            var (key, value) = (line.Trim().Split(':', 2)[0], line.Trim().Split(':', 2).ElementAtOrDefault(1)?.Trim() ?? "");
            if (indent == 0)
            {
                inServices = key == "services";
            }
            else if (inServices && indent == 2)
            {
                services[key] = current = [];
            }
            else if (inServices && current is not null)
            {
                current[key] = value;
            }
        }

        return services;
    }

    [GeneratedRegex(@"createObject\('azd-service-name', parameters\('([^']+)'\)\)")]
    private static partial Regex ServiceNameTag();

    [GeneratedRegex(@"^\$\{(?<name>[A-Z0-9_]+)=(?<default>[^}]*)\}$")]
    private static partial Regex EnvironmentDefault();
}
