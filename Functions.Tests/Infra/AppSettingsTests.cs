using System.Text.Json.Nodes;
using Functions.Core.Completions;

namespace Functions.Tests.Infra;

/// <summary>The Function App's settings: every one the code reads, identity-based connections, no secrets.</summary>
[Collection(InfraCollection.Name)]
public sealed class AppSettingsTests(BicepTemplateFixture bicep)
{
    private ArmResource AppSettingsResource =>
        Assert.Single(bicep.Template.OfType("Microsoft.Web/sites/config"), config => config.Name.Contains("'appsettings'", StringComparison.Ordinal));

    private JsonObject Settings =>
        AppSettingsResource.Body["properties"] as JsonObject
        ?? throw new InvalidOperationException("The app settings must be an object literal in the template, so their names can be checked.");

    private string? Setting(string name) => Settings[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : Settings[name]?.ToJsonString();

    /// <summary>
    /// Settings whose absence means something: an empty price list keeps the built-in prices, and the fallback price
    /// is for models with no entry, so it has no model name or effective date of its own. No model list means every
    /// model unlimited, and no role overrides means every caller gets the per-caller limits.
    /// </summary>
    private static readonly string[] Optional =
        ["Pricing__Models", "Pricing__Fallback__Model", "Pricing__Fallback__EffectiveFrom", "OpenAI__Models", "RateLimits__Roles"];

    [Fact]
    public void AppSettings_SetEverySettingTheOptionsClassesRead()
    {
        var required = OptionsSettings.Read(typeof(OpenAIOptions).Assembly).Except(Optional);
        var provided = Settings.Select(setting => setting.Key).ToList();

        var missing = required.Where(setting => !OptionsSettings.IsProvided(setting, provided)).ToList();

        Assert.True(missing.Count == 0,
            $"infra/app/api.bicep does not set {missing.Count} setting(s) the Functions.Core options read: {string.Join(", ", missing)}");
    }

    [Fact]
    public void OptionsSettings_CoverEverySectionAndSkipComputedProperties()
    {
        var settings = OptionsSettings.Read(typeof(OpenAIOptions).Assembly);

        Assert.Contains("OpenAI__ApiKey", settings);
        Assert.Contains("OpenAI__NetworkTimeout", settings);
        Assert.Contains("Storage__ChatQueue", settings);
        Assert.Contains("Callers__TrustPrincipalHeader", settings);
        Assert.Contains("Requests__MaxOutputTokens", settings);
        Assert.DoesNotContain("OpenAI__AllowedModelSet", settings);
        Assert.DoesNotContain("Storage__PoisonQueue", settings);
    }

    [Fact]
    public void OptionsSettings_MapNestedSectionsAndColonsToDoubleUnderscores()
    {
        var settings = OptionsSettings.ForType(typeof(SampleOptions), SampleOptions.SectionName);

        Assert.Equal(["Host__extensions__queues__BatchSize", "Host__extensions__queues__Names", "Host__extensions__queues__Retry__MaxCount"], settings);
        Assert.True(OptionsSettings.IsProvided("Host__extensions__queues__Names", ["Host__extensions__queues__Names__0"]));
        Assert.False(OptionsSettings.IsProvided("Host__extensions__queues__BatchSize", ["Host__extensions__queues__BatchSizeLimit"]));
    }

    [Theory]
    [InlineData("AzureWebJobsStorage__accountName")]
    [InlineData("APPLICATIONINSIGHTS_CONNECTION_STRING")]
    [InlineData("SPEND_ROLLUP_SCHEDULE")]
    [InlineData("KeyVault__VaultUri")]
    [InlineData("KeyVault__ManagedIdentityClientId")]
    public void AppSettings_SetWhatTheHostTriggersAndSecretClientRead(string setting)
    {
        Assert.False(string.IsNullOrEmpty(Setting(setting)), $"{setting} is not set.");
    }

    [Fact]
    public void AppSettings_ConnectToStorageAndTelemetryAsTheUserAssignedIdentity()
    {
        Assert.Equal("managedidentity", Setting("AzureWebJobsStorage__credential"));
        Assert.Contains("identity", Setting("AzureWebJobsStorage__clientId"));
        Assert.Null(Settings["AzureWebJobsStorage"]);
        Assert.Matches(@"^\[format\('ClientId=\{0\};Authorization=AAD', reference\('identity'\)\.clientId\)\]$",
            Setting("APPLICATIONINSIGHTS_AUTHENTICATION_STRING"));
    }

    [Theory]
    [InlineData("FUNCTIONS_EXTENSION_VERSION")]
    [InlineData("FUNCTIONS_WORKER_RUNTIME")]
    [InlineData("FUNCTIONS_WORKER_RUNTIME_VERSION")]
    [InlineData("WEBSITE_RUN_FROM_PACKAGE")]
    [InlineData("WEBSITE_CONTENTAZUREFILECONNECTIONSTRING")]
    [InlineData("WEBSITE_CONTENTSHARE")]
    public void AppSettings_LeaveOutWhatFlexConsumptionTakesFromFunctionAppConfig(string setting)
    {
        Assert.Null(Settings[setting]);
    }

    [Fact]
    public void AppSettings_HoldNoKeysPasswordsOrSasTokens()
    {
        string[] secretMarkers = ["AccountKey=", "SharedAccessSignature", "SharedAccessKey", "sig=", "sk-", "Password=", "Pwd="];
        var values = Settings.Select(setting => $"{setting.Key}={Setting(setting.Key)}")
            .Concat(bicep.Template.Templates.SelectMany(template => template["parameters"]?.AsObject() ?? [])
                .Where(parameter => parameter.Value?["defaultValue"] is not null)
                .Select(parameter => $"parameter {parameter.Key}={parameter.Value!["defaultValue"]!.ToJsonString()}"));

        var leaks = values.Where(value => secretMarkers.Any(marker => value.Contains(marker, StringComparison.OrdinalIgnoreCase))).ToList();

        Assert.True(leaks.Count == 0, $"Secret-looking values: {string.Join("; ", leaks)}");
    }

    [Fact]
    public void OpenAIApiKey_ComesFromTheVaultSecretTheDeployerSets_NeverFromASetting()
    {
        Assert.Equal("", Setting("OpenAI__ApiKey"));
        Assert.Equal("openai-api-key", Setting("KeyVault__Secrets__OpenAIApiKey"));
        Assert.Contains("vaultUri", Setting("KeyVault__VaultUri"));
    }

    [Fact]
    public void JobStreamSigningKey_ComesFromAVaultSecret_SoEveryInstanceSignsAlike()
    {
        Assert.Equal("job-stream-signing-key", Setting("KeyVault__Secrets__JobStreamSigningKey"));
        Assert.Null(Settings["JobStreams__SigningKey"]);
    }

    [Fact]
    public void Authentication_LetsRequestsWithoutATokenReachTheApp_WhichAnswersThemItself()
    {
        // An EventSource cannot send a bearer token: a platform 401 would stop a job stream before its URL token is checked.
        var authentication = Assert.Single(bicep.Template.OfType("Microsoft.Web/sites/config"),
            config => config.Name.Contains("'authsettingsV2'", StringComparison.Ordinal));

        Assert.Equal("AllowAnonymous", authentication.Text("properties.globalValidation.unauthenticatedClientAction"));
        Assert.Equal("false", authentication.Text("properties.globalValidation.requireAuthentication"));
        Assert.Contains("allowAnonymous", Setting("Callers__AllowAnonymous"));
    }

    [Fact]
    public void TrustPrincipalHeader_IsTrueOnlyWhenAppServiceAuthenticationIsOn()
    {
        var settings = AppSettingsResource;
        var authentication = Assert.Single(bicep.Template.OfType("Microsoft.Web/sites/config"),
            config => config.Name.Contains("'authsettingsV2'", StringComparison.Ordinal));

        // The switch that deploys authentication, as seen from the template holding the app settings.
        var switched = Enumerable.Repeat(authentication, 1).Concat(Ancestors(authentication))
            .Single(resource => resource.Module == settings.Module && resource.Body["condition"] is not null);
        var authenticationSwitch = Assert.Single(ArmTemplate.ParameterReferences(switched.Body["condition"]!.ToString()));

        Assert.Equal($"[if(parameters('{authenticationSwitch}'), 'true', 'false')]", Setting("Callers__TrustPrincipalHeader"));
    }

    [Fact]
    public void Authentication_ValidatesEntraIdTokensWithoutAClientSecret()
    {
        var authentication = Assert.Single(bicep.Template.OfType("Microsoft.Web/sites/config"),
            config => config.Name.Contains("'authsettingsV2'", StringComparison.Ordinal));

        Assert.Equal("true", authentication.Text("properties.platform.enabled"));
        Assert.Equal("true", authentication.Text("properties.identityProviders.azureActiveDirectory.enabled"));
        Assert.NotEmpty(ArmTemplate.ParameterReferences(authentication.Text("properties.identityProviders.azureActiveDirectory.registration.clientId") ?? ""));
        Assert.Null(authentication.Text("properties.identityProviders.azureActiveDirectory.registration.clientSecretSettingName"));
    }

    private static IEnumerable<ArmResource> Ancestors(ArmResource resource)
    {
        for (var module = resource.Module; module is not null; module = module.Module)
        {
            yield return module;
        }
    }

    private sealed class SampleOptions
    {
        public const string SectionName = "Host:extensions:queues";

        public int BatchSize { get; set; }

        public string[] Names { get; set; } = [];

        public RetryOptions Retry { get; set; } = new();

        public int Computed => BatchSize * 2;

        public sealed class RetryOptions
        {
            public int MaxCount { get; set; }
        }
    }
}
