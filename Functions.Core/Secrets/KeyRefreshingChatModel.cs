using System.ClientModel;
using System.Runtime.CompilerServices;
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
/// <param name="secretName">The endpoint's key in the secret store (one credential and refresher per endpoint).</param>
public sealed class KeyRefreshingChatModel(IChatModel inner, ApiKeyCredential credential, SecretStore secrets,
    ILogger<KeyRefreshingChatModel> logger, string secretName = SecretNames.OpenAIApiKey) : IChatModel
{
    /// <summary>The SDK insists on a credential; a keyless compatible endpoint (Ollama) ignores this placeholder.</summary>
    public const string NoKey = "no-key-configured";

    /// <summary>The code <see cref="OpenAIChatModel"/> gives an HTTP 401.</summary>
    private const string Unauthorized = "model_unauthorized";

    private readonly Lock applying = new();
    private string? applied;

    public async Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var key = Apply(await secrets.GetAsync(secretName, cancellationToken));
        try
        {
            return await inner.CompleteAsync(request, cancellationToken);
        }
        catch (ModelCallException ex) when (ex.Code == Unauthorized)
        {
            if (Apply(await secrets.RefreshAsync(secretName, key, cancellationToken)) == key)
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

    public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (stream, hasCurrent) = await OpenAsync(request, cancellationToken);
        await using (stream)
        {
            while (hasCurrent)
            {
                yield return stream.Current;
                hasCurrent = await stream.MoveNextAsync();
            }
        }
    }

    /// <summary>A 401 comes before the first update, so the stream is opened (and, on a rotated key, reopened) here.</summary>
    private async Task<(IAsyncEnumerator<ChatDelta> Stream, bool HasCurrent)> OpenAsync(ChatRequest request,
        CancellationToken cancellationToken)
    {
        var key = Apply(await secrets.GetAsync(secretName, cancellationToken));
        var stream = inner.StreamAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            return (stream, await stream.MoveNextAsync());
        }
        catch (ModelCallException ex) when (ex.Code == Unauthorized)
        {
            await stream.DisposeAsync();
            if (Apply(await secrets.RefreshAsync(secretName, key, cancellationToken)) == key)
            {
                SecretsLog.KeyRejected(logger);
                throw WithoutUpstreamBody(ex);
            }
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }

        SecretsLog.RetryingWithNewKey(logger);
        var retry = inner.StreamAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            return (retry, await retry.MoveNextAsync());
        }
        catch (ModelCallException ex) when (ex.Code == Unauthorized)
        {
            await retry.DisposeAsync();
            throw WithoutUpstreamBody(ex);
        }
        catch
        {
            await retry.DisposeAsync();
            throw;
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
