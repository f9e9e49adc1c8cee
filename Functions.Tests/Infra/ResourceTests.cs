using System.Reflection;
using System.Runtime.Versioning;
using Functions.Core.Completions;

namespace Functions.Tests.Infra;

/// <summary>What main.bicep deploys: Flex Consumption, identity-only Storage, RBAC Key Vault, Entra-only telemetry.</summary>
[Collection(InfraCollection.Name)]
public sealed class ResourceTests(BicepTemplateFixture bicep)
{
    private ArmTemplate Template => bicep.Template;

    [Fact]
    public void Storage_RefusesSharedKeysAndAnonymousAccess()
    {
        var storage = Template.Single("Microsoft.Storage/storageAccounts");

        Assert.Equal("false", storage.Text("properties.allowSharedKeyAccess"));
        Assert.Equal("false", storage.Text("properties.allowBlobPublicAccess"));
        Assert.Equal("TLS1_2", storage.Text("properties.minimumTlsVersion"));
        Assert.Equal("true", storage.Text("properties.supportsHttpsTrafficOnly"));
        Assert.All(Template.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"),
            container => Assert.Equal("None", container.Text("properties.publicAccess")));
    }

    [Fact]
    public void Storage_HasQueueTableAndDeploymentContainerServices()
    {
        Assert.NotEmpty(Template.OfType("Microsoft.Storage/storageAccounts/queueServices/queues"));
        Assert.NotEmpty(Template.OfType("Microsoft.Storage/storageAccounts/tableServices/tables"));
        Assert.NotEmpty(Template.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"));
    }

    [Fact]
    public void KeyVault_AuthorizesWithRbacAndKeepsDeletedSecretsRecoverable()
    {
        var vault = Template.Single("Microsoft.KeyVault/vaults");

        Assert.Equal("true", vault.Text("properties.enableRbacAuthorization"));
        Assert.Null(vault.Properties["accessPolicies"]);
        Assert.Equal("true", vault.Text("properties.enableSoftDelete"));
        // Purge protection is irreversible, so it is the deployer's choice.
        Assert.NotEmpty(ArmTemplate.ParameterReferences(vault.Text("properties.enablePurgeProtection") ?? ""));
    }

    [Fact]
    public void ApplicationInsights_AcceptsOnlyEntraIdAuthenticatedTelemetry()
    {
        var applicationInsights = Template.Single("Microsoft.Insights/components");

        Assert.Equal("true", applicationInsights.Text("properties.DisableLocalAuth"));
        Assert.False(string.IsNullOrEmpty(applicationInsights.Text("properties.WorkspaceResourceId")));
        Template.Single("Microsoft.OperationalInsights/workspaces");
    }

    [Fact]
    public void Workbook_ChartsTheGenAiMetricsOnTheComponent_AndTheQueues()
    {
        var workbook = Template.Single("Microsoft.Insights/workbooks");
        // The workbook's JSON is inlined into the module's template (loadTextContent), its IDs filled in at deployment.
        var content = Template.Text;

        Assert.Equal("shared", workbook.Body["kind"]?.ToString());
        Assert.Equal("[parameters('applicationInsightsId')]", workbook.Text("properties.sourceId"));
        Assert.Contains("'Microsoft.Insights/components'", workbook.ModuleParameter("applicationInsightsId"));
        Assert.Contains("'Microsoft.Storage/storageAccounts'", workbook.ModuleParameter("storageAccountId"));
        // Tokens, cost, latency and errors per model and endpoint, cache hit ratio and queue depth.
        foreach (var needed in (string[])["gen_ai.client.token.usage", "chat_backend.cost", "gen_ai.request.model", "server.address",
                     "error.type", "chat_backend.cache.outcome", "QueueMessageCount", "percentile(duration, 95)"])
        {
            Assert.Contains(needed, content);
        }
    }

    [Fact]
    public void FunctionApp_RunsOnTheFlexConsumptionPlan()
    {
        var plan = Template.Single("Microsoft.Web/serverfarms");
        var site = Template.Single("Microsoft.Web/sites");

        Assert.Equal("FC1", plan.Text("sku.name"));
        Assert.Equal("FlexConsumption", plan.Text("sku.tier"));
        Assert.Equal("true", plan.Text("properties.reserved"));
        Assert.Equal("functionapp,linux", site.Text("kind"));
        Assert.Contains("Microsoft.Web/serverfarms", site.Text("properties.serverFarmId"));
    }

    [Fact]
    public void FunctionApp_RunsTheDotnetIsolatedVersionTheCodeTargets()
    {
        // Every project shares <TargetFramework> from Directory.Build.props; Functions.Core's build says which.
        var framework = new FrameworkName(typeof(OpenAIOptions).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName);
        var site = Template.Single("Microsoft.Web/sites");

        Assert.Equal("dotnet-isolated", site.Text("properties.functionAppConfig.runtime.name"));
        Assert.Equal($"{framework.Version.Major}.{framework.Version.Minor}", site.Text("properties.functionAppConfig.runtime.version"));
    }

    [Fact]
    public void FunctionApp_UsesTheUserAssignedIdentityForKeyVaultReferencesAndDeployments()
    {
        const string identityType = "Microsoft.ManagedIdentity/userAssignedIdentities";
        var site = Template.Single("Microsoft.Web/sites");

        Assert.Equal("UserAssigned", site.Text("identity.type"));
        Assert.Contains(identityType, site.Text("properties.keyVaultReferenceIdentity"));
        Assert.Equal("UserAssignedIdentity", site.Text("properties.functionAppConfig.deployment.storage.authentication.type"));
        Assert.Contains(identityType, site.Text("properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId"));
        Assert.Equal("true", site.Text("properties.httpsOnly"));
    }

    [Fact]
    public void FunctionApp_TakesCorsOriginsFromAnArrayParameter_PlusTheDemoSpasOrigin()
    {
        var site = Template.Single("Microsoft.Web/sites");

        var parameter = Assert.Single(ArmTemplate.ParameterReferences(site.Text("properties.siteConfig.cors.allowedOrigins") ?? ""));
        var passed = site.ModuleParameter(parameter) ?? "";
        Assert.Equal(["corsAllowedOrigins", "deployDemoSpa"], ArmTemplate.ParameterReferences(passed).Order());
        Assert.Equal("array", Template.Root["parameters"]?["corsAllowedOrigins"]?["type"]?.ToString());
        // The Static Web App's generated origin is known only once it exists, so it comes from the module's output.
        Assert.Contains("reference('demoSpa').outputs.uri.value", passed, StringComparison.Ordinal);
    }

    [Fact]
    public void DemoSpa_IsAFreeStaticWebApp_WithNoGeneratedWorkflow()
    {
        var staticSite = Template.Single("Microsoft.Web/staticSites");

        Assert.Equal("Free", staticSite.Text("sku.name"));
        Assert.Equal("true", staticSite.Text("properties.buildProperties.skipGithubActionWorkflowGeneration"));
        Assert.Contains("deployDemoSpa", string.Join(" ", staticSite.Conditions), StringComparison.Ordinal);
    }

    [Fact]
    public void Template_CreatesNoSecretsAndReadsNoKeys()
    {
        // The OpenAI key is set by the deployer, never by a template; nothing reads account keys or SAS tokens.
        Assert.Empty(Template.OfType("Microsoft.KeyVault/vaults/secrets"));
        Assert.All(["listKeys(", "listAccountSas(", "listServiceSas(", "listSecrets(", "listConnectionStrings("],
            function => Assert.DoesNotContain(function, Template.Text, StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("AZURE_FUNCTION_APP_NAME")]
    [InlineData("AZURE_KEY_VAULT_NAME")]
    [InlineData("AZURE_RESOURCE_GROUP")]
    [InlineData("SERVICE_API_NAME")]
    [InlineData("SERVICE_API_ENDPOINTS")]
    [InlineData("SERVICE_WEB_URI")]
    public void Outputs_GiveAzdWhatItNeeds(string output)
    {
        Assert.NotNull(Template.Root["outputs"]?[output]);
    }
}
