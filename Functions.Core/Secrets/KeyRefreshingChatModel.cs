using System.ClientModel;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Secrets;

/// <summary>
/// Keeps the OpenAI client's one <see cref="ApiKeyCredential"/> equal to the secret store's current key, and when the
/// model answers 401 reads the key again and retries once, only if a different key was read (it was rotated).
/// Not a retry policy: every other failure passes through untouched to whoever owns retries.
/// </summary>
public sealed class KeyRefreshingChatModel(IChatModel inner, ApiKeyCredential credential, SecretStore secrets,
    ILogger<KeyRefreshingChatModel> logger) : IChatModel
{
    /// <summary>The SDK insists on a credential; a keyless compatible endpoint (Ollama) ignores this placeholder.</summary>
    public const string NoKey = "no-key-configured";

    /// <summary>The code <see cref="OpenAIChatModel"/> gives an HTTP 401.</summary>
    private const string Unauthorized = "model_unauthorized";

    private readonly Lock applying = new();
    private string? applied;

    public async Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var key = Apply(await secrets.GetAsync(SecretNames.OpenAIApiKey, cancellationToken));
        try
        {
            return await inner.CompleteAsync(request, cancellationToken);
        }
        catch (ModelCallException ex) when (ex.Code == Unauthorized)
        {
            if (Apply(await secrets.RefreshAsync(SecretNames.OpenAIApiKey, key, cancellationToken)) == key)
            {
                SecretsLog.KeyRejected(logger);
                throw WithoutUpstreamBody(ex);
            }
        }

        // The key was rotated: one more attempt with the new one.
        SecretsLog.RetryingWithNewKey(logger);
        try
        {
            return await inner.CompleteAsync(request, cancellationToken);
        }
        catch (ModelCallException ex) when (ex.Code == Unauthorized)
        {
            throw WithoutUpstreamBody(ex);
        }
    }

    private string? Apply(string? key)
    {
        lock (applying)
        {
            if (key != applied)
            {
                // An empty key means none (the SDK refuses an empty credential, which would fail every call).
                credential.Update(string.IsNullOrEmpty(key) ? NoKey : key);
                applied = key;
            }
        }
        return key;
    }

    /// <summary>A 401 body may quote the key ("Incorrect API key provided: sk-…"), so the SDK exception goes no further.</summary>
    private static ModelCallException WithoutUpstreamBody(ModelCallException ex) => new(ex.Code, ex.Message, ex.IsTransient, ex.Status);
}
