using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Security.KeyVault.Secrets;
using Functions.Core.Secrets;
using Functions.Core.Settings;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace Functions.Tests.Secrets;

/// <summary>The real local host with the OpenAI key in a (Moq) Key Vault: start-up, rotation and redaction.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class KeyVaultHostTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    private const string OldKey = "sk-test-OLD-4f9c2a7e1b-xyz";
    private const string NewKey = "sk-test-NEW-8d3e6b0c5a-xyz";

    private readonly Mock<SecretClient> vault = new(MockBehavior.Strict);
    private readonly CapturingLoggerProvider logs = new();
    private Task<TestHost> StartAsync(SecretClient client, Uri? vaultUri = null) =>
        StartHostAsync(TestVault.Settings(vaultUri), builder =>
        {
            builder.Services.AddSingleton(client);
            logs.AddTo(builder.Logging);
        });

    [Theory]
    [InlineData(403, "Forbidden", "access denied")]
    [InlineData(404, "SecretNotFound", "does not exist")]
    public async Task StartUp_WhenTheVaultRefusesTheSecret_StopsTheHostNamingTheVaultAndTheSecret(int status, string errorCode, string reason)
    {
        vault.SetupKeyReads().ThrowsAsync(new RequestFailedException(status, "Service request failed.", errorCode, null));

        var ex = await Assert.ThrowsAsync<SecretUnavailableException>(() => StartAsync(vault.Object));

        Assert.Contains("'openai-api-key' (OpenAIApiKey) in Key Vault https://test-vault.vault.azure.net/", ex.Message);
        Assert.Contains(reason, ex.Message);
        Assert.Contains($"HTTP {status} {errorCode}", ex.Message);
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task StartUp_WhenTheVaultIsUnreachable_StopsTheHostNamingTheVaultAndTheSecret()
    {
        // A real SecretClient against a loopback port nothing listens on. One retry (the default is three) keeps the test
        // short while still ending the way production does: the retry policy's AggregateException.
        var unreachable = new Uri($"https://127.0.0.1:{ClosedPort()}/");
        var client = new SecretClient(unreachable, Mock.Of<TokenCredential>(),
            new SecretClientOptions { Retry = { MaxRetries = 1, Delay = TimeSpan.FromMilliseconds(10) } });

        var ex = await Assert.ThrowsAsync<SecretUnavailableException>(() => StartAsync(client, unreachable));

        Assert.Contains($"'openai-api-key' (OpenAIApiKey) in Key Vault {unreachable}", ex.Message);
        Assert.Contains("the vault is unreachable (2 attempts", ex.Message);
        // One line for the operator; the nested exceptions only at Debug, never a hosting error with its stack traces.
        var line = StartupFailure.Describe(ex);
        Assert.NotNull(line);
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("Secret unavailable: ", line);
        Assert.DoesNotContain(logs.Entries, entry => entry.StartsWith("Error", StringComparison.Ordinal) || entry.StartsWith("Critical", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, entry => entry.StartsWith("Debug", StringComparison.Ordinal) && entry.Contains("AggregateException"));
    }

    [Fact]
    public async Task VaultWithNoSecretMapping_ReadsTheOpenAIKeyFromItsDefaultSecret()
    {
        vault.SetupKeyReads(OldKey);
        Model.AcceptedKey = OldKey;
        var settings = TestVault.Settings();
        settings.Remove("KeyVault:Secrets:OpenAIApiKey");
        var host = await StartHostAsync(settings, builder => builder.Services.AddSingleton(vault.Object));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("hi")));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        vault.VerifyReads(TestVault.OpenAIKeySecret, 1);
    }

    [Fact]
    public async Task RotatedKey_ModelRejectsTheOldOne_JobSucceedsWithTheNewKeyAfterExactlyOneRefresh()
    {
        vault.SetupKeyReads(OldKey, NewKey);
        Model.AcceptedKey = NewKey;
        await using var host = await StartAsync(vault.Object);

        var id = await host.SubmitAcceptedAsync(TestHost.UserMessage("hello"));
        var job = await host.WaitForTerminalAsync(id);

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal(["Bearer " + OldKey, "Bearer " + NewKey], Model.Calls.Select(call => call.Authorization));
        vault.VerifyReads(TestVault.OpenAIKeySecret, 2);
        Assert.Contains(logs.Entries, entry => entry.Contains("OpenAIApiKey comes from Key Vault https://test-vault.vault.azure.net/, secret openai-api-key"));
        Assert.Single(logs.Entries, entry => entry.Contains("OpenAIApiKey re-read from Key Vault https://test-vault.vault.azure.net/: a new value"));
    }

    [Fact]
    public async Task Redaction_KeyRejectedAndVaultFailing_NoKeyInLogsJobErrorOrAnyResponse()
    {
        vault.SetupKeyReads(OldKey)
            .ThrowsAsync(new RequestFailedException(403, "Caller is not authorized to perform action on resource.", "Forbidden", null));
        Model.AcceptedKey = NewKey;
        var bodies = new List<string>();
        await using var host = await StartAsync(vault.Object);
        using var client = new HttpClient(new RecordingHandler(bodies)) { BaseAddress = host.Client.BaseAddress };

        using var submitted = await client.PostAsJsonAsync("/api/chat", TestHost.UserMessage("hello"));
        var id = JsonDocument.Parse(bodies[0]).RootElement.GetProperty("id").GetString()!;
        JsonElement job;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        do
        {
            Assert.True(DateTime.UtcNow < deadline, "The job did not finish in time.");
            await Task.Delay(50);
            using var polled = await client.GetAsync($"/api/chat/{id}");
            job = JsonDocument.Parse(bodies[^1]).RootElement;
        }
        while (job.GetProperty("status").GetString() is not ("Succeeded" or "Failed"));
        using var notFound = await client.GetAsync("/api/chat/not-a-job-id");

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        Assert.Equal("model_unauthorized", job.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("Bearer " + OldKey, Assert.Single(Model.Calls).Authorization);
        // The vault failure and the rejection did happen, and were logged by name.
        Assert.Contains(logs.Entries, entry => entry.Contains("OpenAIApiKey could not be re-read") && entry.Contains("HTTP 403"));
        Assert.Contains(logs.Entries, entry => entry.Contains("rejected the OpenAI key (HTTP 401)"));
        var everything = string.Join('\n', logs.Entries.Concat(bodies).Append(job.GetProperty("error").GetRawText()));
        Assert.DoesNotContain(OldKey, everything);
        Assert.DoesNotContain("OLD-4f9c2a7e1b", everything);
        Assert.DoesNotContain("Incorrect API key provided", everything);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Keeps the body of every response the client receives.</summary>
    private sealed class RecordingHandler(List<string> bodies) : DelegatingHandler(new HttpClientHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            bodies.Add(await response.Content.ReadAsStringAsync(cancellationToken));
            return response;
        }
    }
}
