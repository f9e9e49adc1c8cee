using Azure;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Functions.Core.Secrets;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace Functions.Tests.Secrets;

public sealed class SecretStoreTests : IDisposable
{
    private const string OldKey = "sk-old-0123456789";
    private const string NewKey = "sk-new-9876543210";

    private readonly Mock<SecretClient> vault = new(MockBehavior.Strict);
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly CapturingLoggerProvider logs = new();
    private readonly ILoggerFactory loggerFactory;
    private IConfigurationRoot configuration = null!;

    public SecretStoreTests() => loggerFactory = LoggerFactory.Create(logs.AddTo);

    public void Dispose() => loggerFactory.Dispose();

    private string AllLogs => string.Join('\n', logs.Entries);

    private SecretStore Store(Dictionary<string, string?> settings)
    {
        configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = configuration.GetSection(KeyVaultOptions.SectionName).Get<KeyVaultOptions>() ?? new KeyVaultOptions();
        return new SecretStore([new SecretDefinition(SecretNames.OpenAIApiKey, "OpenAI:ApiKey")], Options.Create(options), configuration,
            vault.Object, time, loggerFactory.CreateLogger<SecretStore>());
    }

    [Fact]
    public async Task Load_ReadsEveryMappedSecretOnce_ServesItFromMemory_AndLogsItsSourceNotItsValue()
    {
        vault.SetupKeyReads(OldKey);
        vault.SetupReads("alerts-webhook").ReturnsAsync(TestVault.Secret("alerts-webhook", "https://hooks.example/T0/B0/s3cr3t"));
        var settings = TestVault.Settings();
        settings["KeyVault:Secrets:AlertsWebhookUrl"] = "alerts-webhook";
        var store = Store(settings);

        await store.LoadAsync(CancellationToken.None);
        var key = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);
        var again = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);
        var webhook = await store.GetAsync("AlertsWebhookUrl", CancellationToken.None);

        Assert.Equal(OldKey, key);
        Assert.Equal(OldKey, again);
        Assert.Equal("https://hooks.example/T0/B0/s3cr3t", webhook);
        vault.VerifyReads(TestVault.OpenAIKeySecret, 1);
        vault.VerifyReads("alerts-webhook", 1);
        Assert.Contains(logs.Entries, entry => entry.Contains("OpenAIApiKey comes from Key Vault https://test-vault.vault.azure.net/, secret openai-api-key"));
        Assert.Contains(logs.Entries, entry => entry.Contains("AlertsWebhookUrl comes from Key Vault"));
        Assert.DoesNotContain(OldKey, AllLogs);
        Assert.DoesNotContain("s3cr3t", AllLogs);
    }

    [Fact]
    public async Task Get_ReadsTheVaultAgainOnlyOnceTheConfiguredRefreshIntervalHasPassed()
    {
        vault.SetupKeyReads(OldKey, NewKey);
        var settings = TestVault.Settings();
        settings["KeyVault:RefreshInterval"] = "00:02:00";
        var store = Store(settings);
        await store.LoadAsync(CancellationToken.None);

        time.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(1));
        var beforeInterval = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        var afterInterval = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);
        var afterThat = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);

        Assert.Equal(OldKey, beforeInterval);
        Assert.Equal(NewKey, afterInterval);
        Assert.Equal(NewKey, afterThat);
        vault.VerifyReads(TestVault.OpenAIKeySecret, 2);
        Assert.Contains(logs.Entries, entry => entry.Contains("OpenAIApiKey re-read from Key Vault https://test-vault.vault.azure.net/: a new value"));
        Assert.DoesNotContain(NewKey, AllLogs);
    }

    [Fact]
    public async Task Get_WhenTheRefreshFails_KeepsTheLastGoodValue_WarnsWithoutIt_AndWaitsAnotherIntervalBeforeRetrying()
    {
        vault.SetupKeyReads(OldKey)
            .ThrowsAsync(new RequestFailedException(403, "Caller is not authorized to perform action on resource.", "Forbidden", null))
            .ReturnsAsync(TestVault.Secret(TestVault.OpenAIKeySecret, NewKey));
        var store = Store(TestVault.Settings());
        await store.LoadAsync(CancellationToken.None);

        time.Advance(TimeSpan.FromMinutes(5));
        var duringOutage = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);
        var rightAfter = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(5));
        var recovered = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);

        Assert.Equal(OldKey, duringOutage);
        Assert.Equal(OldKey, rightAfter);
        Assert.Equal(NewKey, recovered);
        vault.VerifyReads(TestVault.OpenAIKeySecret, 3);
        var warning = Assert.Single(logs.Entries, entry => entry.StartsWith("Warning", StringComparison.Ordinal));
        Assert.Contains("OpenAIApiKey could not be re-read", warning);
        Assert.Contains("'openai-api-key'", warning);
        Assert.Contains("HTTP 403", warning);
        Assert.DoesNotContain(OldKey, AllLogs);
        Assert.DoesNotContain(NewKey, AllLogs);
    }

    [Fact]
    public async Task Refresh_AfterManyCallersHadTheSameKeyRejected_ReadsTheVaultOnce()
    {
        vault.SetupKeyReads(OldKey, NewKey);
        var store = Store(TestVault.Settings());
        await store.LoadAsync(CancellationToken.None);

        var refreshed = await Task.WhenAll(Enumerable.Range(0, 10)
            .Select(_ => Task.Run(() => store.RefreshAsync(SecretNames.OpenAIApiKey, OldKey, CancellationToken.None))));

        Assert.All(refreshed, value => Assert.Equal(NewKey, value));
        vault.VerifyReads(TestVault.OpenAIKeySecret, 2);
    }

    [Theory]
    [InlineData(403, "Forbidden", "access denied")]
    [InlineData(404, "SecretNotFound", "does not exist")]
    [InlineData(401, "Unauthorized", "rejected the app's credentials")]
    [InlineData(0, null, "unreachable")]
    public async Task Load_WhenTheVaultFails_ThrowsNamingTheVaultAndTheSecret(int status, string? errorCode, string reason)
    {
        var failure = status == 0
            ? new RequestFailedException("No such host is known. (test-vault.vault.azure.net:443)", new HttpRequestException("No such host is known."))
            : new RequestFailedException(status, "Service request failed.", errorCode, null);
        vault.SetupKeyReads().ThrowsAsync(failure);
        var store = Store(TestVault.Settings());

        var ex = await Assert.ThrowsAsync<SecretUnavailableException>(() => store.LoadAsync(CancellationToken.None));

        Assert.Equal(SecretNames.OpenAIApiKey, ex.Name);
        Assert.StartsWith("Secret 'openai-api-key' (OpenAIApiKey) in Key Vault https://test-vault.vault.azure.net/", ex.Message);
        Assert.Contains(reason, ex.Message);
        Assert.Same(failure, ex.InnerException);
    }

    [Fact]
    public async Task Load_WhenNoCredentialGetsAToken_ThrowsNamingTheVaultAndTheIdentitySetting()
    {
        vault.SetupKeyReads()
            .ThrowsAsync(new CredentialUnavailableException("DefaultAzureCredential failed to retrieve a token from the included credentials."));
        var store = Store(TestVault.Settings());

        var ex = await Assert.ThrowsAsync<SecretUnavailableException>(() => store.LoadAsync(CancellationToken.None));

        Assert.Contains("https://test-vault.vault.azure.net/", ex.Message);
        Assert.Contains("openai-api-key", ex.Message);
        Assert.Contains("KeyVault:ManagedIdentityClientId", ex.Message);
    }

    [Fact]
    public async Task WithoutAVault_ReadsConfigurationOnEveryCall_AndLogsOnlyThatTheSettingIsSet()
    {
        var store = Store(new Dictionary<string, string?>
        {
            ["OpenAI:ApiKey"] = OldKey,
            // A mapping without a vault (the sample settings) changes nothing.
            ["KeyVault:VaultUri"] = "",
            ["KeyVault:Secrets:OpenAIApiKey"] = TestVault.OpenAIKeySecret,
        });

        await store.LoadAsync(CancellationToken.None);
        var first = await store.GetAsync(SecretNames.OpenAIApiKey, CancellationToken.None);
        configuration["OpenAI:ApiKey"] = NewKey;
        var afterChange = await store.RefreshAsync(SecretNames.OpenAIApiKey, first, CancellationToken.None);

        Assert.Equal(OldKey, first);
        Assert.Equal(NewKey, afterChange);
        Assert.Contains(logs.Entries, entry => entry.Contains("OpenAIApiKey comes from configuration setting OpenAI__ApiKey (set)"));
        Assert.DoesNotContain(OldKey, AllLogs);
        vault.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task Load_WhenAppServiceLeftAKeyVaultReferenceUnresolved_ThrowsNamingTheSetting()
    {
        var store = Store(new Dictionary<string, string?>
        {
            ["OpenAI:ApiKey"] = "@Microsoft.KeyVault(VaultName=test-vault;SecretName=openai-api-key)",
        });

        var ex = await Assert.ThrowsAsync<SecretUnavailableException>(() => store.LoadAsync(CancellationToken.None));

        Assert.Contains("OpenAI__ApiKey", ex.Message);
        Assert.Contains("SecretName=openai-api-key", ex.Message);
    }
}
