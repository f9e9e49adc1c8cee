using Microsoft.Extensions.Logging;

namespace Functions.Core.Secrets;

/// <summary>Secret names, vault URIs and outcomes only: no message here takes a secret's value.</summary>
internal static partial class SecretsLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Information,
        Message = "Secret {Name} comes from Key Vault {VaultUri}, secret {SecretName}, re-read every {RefreshInterval}")]
    public static partial void FromKeyVault(ILogger logger, string name, Uri vaultUri, string secretName, TimeSpan refreshInterval);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Secret {Name} comes from configuration setting {Setting} ({State})")]
    public static partial void FromConfiguration(ILogger logger, string name, string setting, string state);

    [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "Secret {Name} re-read from Key Vault {VaultUri}: {Outcome}")]
    public static partial void Refreshed(ILogger logger, string name, Uri vaultUri, string outcome);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning,
        Message = "Secret {Name} could not be re-read; keeping the value read at {ReadAt:o}. {Reason}")]
    public static partial void RefreshFailed(ILogger logger, string name, DateTimeOffset readAt, string reason);

    [LoggerMessage(EventId = 504, Level = LogLevel.Warning,
        Message = "The model rejected the OpenAI key (HTTP 401); a different key was read, retrying once with it")]
    public static partial void RetryingWithNewKey(ILogger logger);

    [LoggerMessage(EventId = 505, Level = LogLevel.Warning,
        Message = "The model rejected the OpenAI key (HTTP 401) and its source holds no other key")]
    public static partial void KeyRejected(ILogger logger);
}
