using System.ComponentModel.DataAnnotations;
using Functions.Core;
using Functions.Core.Completions;
using Functions.Core.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Secrets;

public sealed class KeyVaultOptionsTests
{
    private static KeyVaultOptions Bind(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build()
            .GetSection(KeyVaultOptions.SectionName).Get<KeyVaultOptions>() ?? new KeyVaultOptions();

    private static List<ValidationResult> Validate(KeyVaultOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }

    [Fact]
    public void Binding_AppSettings_MapsEachLogicalNameToItsVaultSecret_IgnoringCase()
    {
        var options = Bind(new()
        {
            ["KeyVault:VaultUri"] = "https://my-vault.vault.azure.net/",
            ["KeyVault:Secrets:OpenAIApiKey"] = "openai-api-key",
            ["KeyVault:Secrets:AlertsWebhookUrl"] = "alerts-webhook-url",
            ["KeyVault:Secrets:SigningKey"] = "",
        });

        Assert.Equal("openai-api-key", options.VaultSecretName("openaiapikey"));
        Assert.Equal("alerts-webhook-url", options.VaultSecretName("AlertsWebhookUrl"));
        Assert.Null(options.VaultSecretName("SigningKey"));
        Assert.Null(options.VaultSecretName("Unmapped"));
        Assert.Equal(TimeSpan.FromMinutes(5), options.RefreshInterval);
        Assert.Empty(Validate(options));
    }

    [Fact]
    public void WithoutAVaultUri_NoSecretComesFromTheVault()
    {
        var options = Bind(new() { ["KeyVault:VaultUri"] = "", ["KeyVault:Secrets:OpenAIApiKey"] = "openai-api-key" });

        Assert.Null(options.VaultUri);
        Assert.Null(options.VaultSecretName(SecretNames.OpenAIApiKey));
    }

    [Theory]
    [InlineData("KeyVault:VaultUri", "http://my-vault.vault.azure.net/", "VaultUri")]
    [InlineData("KeyVault:ManagedIdentityClientId", "my-identity", "ManagedIdentityClientId")]
    [InlineData("KeyVault:Secrets:OpenAIApiKey", "openai_api_key", "Secrets")]
    [InlineData("KeyVault:RefreshInterval", "00:00:00", "RefreshInterval")]
    public void Validate_RejectsABadSetting_NamingIt(string key, string value, string member)
    {
        var options = Bind(new() { ["KeyVault:VaultUri"] = "https://my-vault.vault.azure.net/", [key] = value });

        var error = Assert.Single(Validate(options));

        Assert.Contains(member, error.MemberNames);
    }

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(true, false, false)] // the vault's default secret, openai-api-key, supplies the key
    [InlineData(false, false, true)]
    public void OpenAIOptions_WithNoKeyAndNoEndpoint_AreValidOnlyWhenAVaultSuppliesTheKey(bool vault, bool mapped, bool fails)
    {
        var settings = new Dictionary<string, string?>();
        if (vault)
        {
            settings["KeyVault:VaultUri"] = "https://my-vault.vault.azure.net/";
        }
        if (mapped)
        {
            settings["KeyVault:Secrets:OpenAIApiKey"] = "openai-api-key";
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging()
            .AddServerlessCore(configuration).BuildServiceProvider();

        var exception = Record.Exception(() => provider.GetRequiredService<IOptions<OpenAIOptions>>().Value);

        Assert.Equal(fails, exception is OptionsValidationException);
    }

    [Fact]
    public void WithAVaultAndNoMapping_TheOpenAIKeyIsTheVaultsDefaultSecret()
    {
        var options = Bind(new() { ["KeyVault:VaultUri"] = "https://my-vault.vault.azure.net/" });

        Assert.Equal("openai-api-key", options.VaultSecretName(SecretNames.OpenAIApiKey));
        Assert.Null(options.VaultSecretName(SecretNames.AlertsWebhookUrl));
    }
}
