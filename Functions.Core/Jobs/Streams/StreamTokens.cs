using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Functions.Core.Secrets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// A stream token as presented: <c>{expiry, Unix seconds}.{HMAC-SHA256, base64url}</c>. It names neither the job nor
/// the caller: the MAC covers both, so it only verifies against the job it was issued for and that job's owner.
/// </summary>
public sealed record StreamToken(DateTimeOffset ExpiresAt, byte[] Mac)
{
    public static StreamToken? TryParse(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return null;
        }
        try
        {
            var mac = Base64Url.DecodeFromChars(text.AsSpan(dot + 1));
            return mac.Length == StreamTokens.MacBytes ? new StreamToken(DateTimeOffset.FromUnixTimeSeconds(seconds), mac) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>
/// Issues and checks the short-lived tokens in a job's <c>streamUrl</c>. A browser's <c>EventSource</c> cannot send an
/// <c>Authorization</c> header, so the URL itself carries the right to read that one job's stream, as its owner, until
/// it expires. The key is the secret <see cref="SecretNames.JobStreamSigningKey"/> (Key Vault when mapped, else the
/// <c>JobStreams:SigningKey</c> setting), read through the secret store on each use, so a rotation needs no restart
/// (tokens signed with the old key then answer 401, and the client asks for a new URL). With no key configured, a
/// random key made at start-up signs them: fine for one local instance, wrong for several, which the start-up log says.
/// </summary>
public sealed class StreamTokens(SecretStore secrets, IOptions<JobStreamOptions> options, TimeProvider time)
{
    public const int MacBytes = 32;
    public const int MinKeyLength = 32;

    private readonly byte[] processKey = RandomNumberGenerator.GetBytes(MacBytes);

    public async Task<string> IssueAsync(string jobId, string caller, CancellationToken cancellationToken)
    {
        var expiresAt = (time.GetUtcNow() + options.Value.TokenLifetime).ToUnixTimeSeconds();
        var mac = await MacAsync(jobId, caller, expiresAt, cancellationToken);
        return expiresAt.ToString(CultureInfo.InvariantCulture) + "." + Base64Url.EncodeToString(mac);
    }

    /// <summary>The stream URL for <paramref name="job"/>, as the 202 and an unfinished job's status name it.</summary>
    public async Task<string> StreamUrlAsync(Job job, CancellationToken cancellationToken) =>
        JobRoutes.StreamUrl(job.Id, await IssueAsync(job.Id, job.Caller, cancellationToken));

    public bool IsExpired(StreamToken token) => token.ExpiresAt <= time.GetUtcNow();

    /// <summary>True when <paramref name="token"/> was issued, with the current key, for this job and its owner.</summary>
    public async Task<bool> IsValidAsync(StreamToken token, string jobId, string caller, CancellationToken cancellationToken)
    {
        if (IsExpired(token))
        {
            return false;
        }
        var expected = await MacAsync(jobId, caller, token.ExpiresAt.ToUnixTimeSeconds(), cancellationToken);
        return CryptographicOperations.FixedTimeEquals(token.Mac, expected);
    }

    /// <returns>True when a configured key signs tokens; false when the random per-process key does.</returns>
    /// <exception cref="InvalidOperationException">A key is configured but too short to be a key.</exception>
    public async Task<bool> HasConfiguredKeyAsync(CancellationToken cancellationToken) => await ConfiguredKeyAsync(cancellationToken) is not null;

    private async Task<byte[]> MacAsync(string jobId, string caller, long expiresAt, CancellationToken cancellationToken)
    {
        var key = await ConfiguredKeyAsync(cancellationToken) ?? processKey;
        return HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"job-stream\n{jobId}\n{caller}\n{expiresAt}"));
    }

    private async Task<byte[]?> ConfiguredKeyAsync(CancellationToken cancellationToken)
    {
        var value = await secrets.GetAsync(SecretNames.JobStreamSigningKey, cancellationToken);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        return value.Length >= MinKeyLength
            ? Encoding.UTF8.GetBytes(value)
            : throw new InvalidOperationException(
                $"The secret {SecretNames.JobStreamSigningKey} is {value.Length} characters long; a signing key needs at least {MinKeyLength} " +
                "(for example: openssl rand -base64 48).");
    }
}

/// <summary>At start-up: says which key signs stream tokens, and stops the host when the configured one is unusable.</summary>
public sealed class StreamTokenKeyCheck(StreamTokens tokens, ILogger<StreamTokenKeyCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await tokens.HasConfiguredKeyAsync(cancellationToken))
        {
            JobStreamsLog.SigningKeyConfigured(logger, SecretNames.JobStreamSigningKey);
        }
        else
        {
            JobStreamsLog.SigningKeyRandom(logger, SecretNames.JobStreamSigningKey);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
