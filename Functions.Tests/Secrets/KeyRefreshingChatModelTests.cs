using System.ClientModel;
using Azure.Security.KeyVault.Secrets;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace Functions.Tests.Secrets;

public sealed class KeyRefreshingChatModelTests
{
    private const string OldKey = "sk-old-0123456789";
    private const string NewKey = "sk-new-9876543210";

    private static readonly ChatRequest Request = new([new ChatMessage(ChatRoles.User, "hi")], "gpt-4.1-mini", null, null);

    private readonly Mock<SecretClient> vault = new(MockBehavior.Strict);
    private readonly FakeTimeProvider time = new();
    private readonly ApiKeyCredential credential = new(KeyRefreshingChatModel.NoKey);

    private async Task<(KeyRefreshingChatModel Model, KeyCheckingModel Inner)> CreateAsync(string acceptedKey)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(TestVault.Settings()).Build();
        var options = configuration.GetSection(KeyVaultOptions.SectionName).Get<KeyVaultOptions>()!;
        var store = new SecretStore([new SecretDefinition(SecretNames.OpenAIApiKey, "OpenAI:ApiKey")], Options.Create(options), configuration,
            vault.Object, time, NullLogger<SecretStore>.Instance);
        await store.LoadAsync(CancellationToken.None);
        var inner = new KeyCheckingModel(credential, acceptedKey);
        return (new KeyRefreshingChatModel(inner, credential, store, NullLogger<KeyRefreshingChatModel>.Instance), inner);
    }

    [Fact]
    public async Task Unauthorized_WhenTheVaultNowHoldsAnotherKey_RetriesOnceWithIt()
    {
        vault.SetupKeyReads(OldKey, NewKey);
        var (model, inner) = await CreateAsync(acceptedKey: NewKey);

        var result = await model.CompleteAsync(Request, CancellationToken.None);

        Assert.Equal("ok", result.Content);
        Assert.Equal([OldKey, NewKey], inner.KeysSeen);
        vault.VerifyReads(TestVault.OpenAIKeySecret, 2);
    }

    [Fact]
    public async Task Unauthorized_WhenTheKeyIsUnchanged_FailsWithoutRetry_AndTheUpstreamBodyDoesNotTravel()
    {
        vault.SetupKeyReads(OldKey, OldKey);
        var (model, inner) = await CreateAsync(acceptedKey: NewKey);

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("model_unauthorized", ex.Code);
        Assert.Equal(401, ex.Status);
        Assert.False(ex.IsTransient);
        Assert.Single(inner.KeysSeen);
        Assert.DoesNotContain(OldKey, ex.ToString());
        Assert.DoesNotContain("Incorrect API key", ex.ToString());
    }

    [Fact]
    public async Task Unauthorized_AlsoWithTheNewKey_FailsAfterOneRetry()
    {
        vault.SetupKeyReads(OldKey, NewKey);
        var (model, inner) = await CreateAsync(acceptedKey: "sk-neither");

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("model_unauthorized", ex.Code);
        Assert.Equal([OldKey, NewKey], inner.KeysSeen);
        Assert.DoesNotContain(NewKey, ex.ToString());
        vault.VerifyReads(TestVault.OpenAIKeySecret, 2);
    }

    [Fact]
    public async Task OtherFailures_PassThroughUntouched_WithoutReadingTheVault()
    {
        vault.SetupKeyReads(OldKey);
        var (model, inner) = await CreateAsync(acceptedKey: OldKey);
        var unavailable = new ModelCallException("upstream_error", "The model provider is temporarily unavailable (HTTP 503).", true, 503);
        inner.NextFailure = unavailable;

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));

        Assert.Same(unavailable, ex);
        Assert.Single(inner.KeysSeen);
        vault.VerifyReads(TestVault.OpenAIKeySecret, 1);
    }

    [Fact]
    public async Task AfterTheRefreshInterval_TheNextCallUsesTheRotatedKey_WithoutA401()
    {
        vault.SetupKeyReads(OldKey, NewKey);
        var (model, inner) = await CreateAsync(acceptedKey: OldKey);

        await model.CompleteAsync(Request, CancellationToken.None);
        inner.AcceptedKey = NewKey;
        time.Advance(TimeSpan.FromMinutes(5));
        await model.CompleteAsync(Request, CancellationToken.None);

        Assert.Equal([OldKey, NewKey], inner.KeysSeen);
    }

    /// <summary>Stands in for OpenAIChatModel: reads the key the SDK would send, and fails as OpenAI does for any other.</summary>
    private sealed class KeyCheckingModel(ApiKeyCredential credential, string acceptedKey) : IChatModel
    {
        public string AcceptedKey { get; set; } = acceptedKey;
        public ModelCallException? NextFailure { get; set; }
        public List<string> KeysSeen { get; } = [];

        public Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
        {
            credential.Deconstruct(out var key);
            KeysSeen.Add(key);
            if (NextFailure is { } failure)
            {
                throw failure;
            }
            if (key != AcceptedKey)
            {
                throw new ModelCallException("model_unauthorized", "The model provider rejected this backend's credentials (HTTP 401, invalid_api_key).",
                    false, 401, inner: new InvalidOperationException($"Incorrect API key provided: {key}"));
            }
            return Task.FromResult(new JobResult("ok", request.Model, "stop", new TokenUsage(1, 0, 1)));
        }

        public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var result = await CompleteAsync(request, cancellationToken);
            yield return new ChatDelta(result.Content, result.Model, result.FinishReason, result.Usage);
        }
    }
}
