using Azure;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Secrets;

/// <summary>
/// The app's secrets by logical name. A name that <c>KeyVault:Secrets</c> maps (with a vault configured) is read from
/// Key Vault at start-up, held in memory and read again once <see cref="KeyVaultOptions.RefreshInterval"/> has passed;
/// a failed read keeps the last good value. Any other name is read from configuration on every call (an App Service
/// Key Vault reference has already been resolved by the platform by then).
/// </summary>
public sealed class SecretStore
{
    /// <summary>What App Service leaves in an app setting when it could not resolve a Key Vault reference.</summary>
    private const string UnresolvedReferencePrefix = "@Microsoft.KeyVault(";

    private readonly Dictionary<string, SecretDefinition> definitions;
    private readonly Dictionary<string, VaultSecret> vaultSecrets;
    private readonly KeyVaultOptions options;
    private readonly IConfiguration configuration;
    private readonly SecretClient? vault;
    private readonly TimeProvider time;
    private readonly ILogger<SecretStore> logger;

    /// <param name="vault">Required when <see cref="KeyVaultOptions.VaultUri"/> is set; unused otherwise.</param>
    public SecretStore(IEnumerable<SecretDefinition> definitions, IOptions<KeyVaultOptions> options, IConfiguration configuration,
        SecretClient? vault, TimeProvider time, ILogger<SecretStore> logger)
    {
        this.definitions = definitions.ToDictionary(definition => definition.Name, StringComparer.OrdinalIgnoreCase);
        this.options = options.Value;
        this.configuration = configuration;
        this.vault = vault;
        this.time = time;
        this.logger = logger;
        vaultSecrets = this.definitions.Keys.Union(this.options.Secrets.Keys, StringComparer.OrdinalIgnoreCase)
            .Select(name => (Name: name, SecretName: this.options.VaultSecretName(name)))
            .Where(entry => entry.SecretName is not null)
            .ToDictionary(entry => entry.Name, entry => new VaultSecret(entry.Name, entry.SecretName!), StringComparer.OrdinalIgnoreCase);
        if (vaultSecrets.Count > 0 && vault is null)
        {
            throw new ArgumentNullException(nameof(vault), "KeyVault:VaultUri is set, so a SecretClient is required.");
        }
    }

    /// <summary>
    /// At start-up: logs where each secret comes from and reads every vault secret once.
    /// Throws <see cref="SecretUnavailableException"/> naming the vault and the secret when one cannot be read.
    /// </summary>
    public Task LoadAsync(CancellationToken cancellationToken)
    {
        // Once per process: a host's start-up check loads before the host starts, and the loader then finds it done.
        lock (definitions)
        {
            return loaded ??= LoadOnceAsync(cancellationToken);
        }
    }

    private Task? loaded;

    private async Task LoadOnceAsync(CancellationToken cancellationToken)
    {
        foreach (var definition in definitions.Values.Where(definition => !vaultSecrets.ContainsKey(definition.Name)))
        {
            var value = configuration[definition.ConfigurationKey];
            var setting = definition.ConfigurationKey.Replace(":", "__", StringComparison.Ordinal);
            if (value?.StartsWith(UnresolvedReferencePrefix, StringComparison.OrdinalIgnoreCase) == true)
            {
                // The reference names a vault and a secret, not a value, so it may be quoted.
                throw new SecretUnavailableException(definition.Name,
                    $"App setting {setting} still holds the Key Vault reference {value}: App Service could not resolve it. " +
                    "Check that the secret exists and that the app's identity (keyVaultReferenceIdentity) has the 'Key Vault Secrets User' role on the vault.");
            }
            SecretsLog.FromConfiguration(logger, definition.Name, setting, string.IsNullOrEmpty(value) ? "not set" : "set");
        }
        foreach (var secret in vaultSecrets.Values)
        {
            SecretsLog.FromKeyVault(logger, secret.Name, options.VaultUri!, secret.SecretName, options.RefreshInterval);
            await ReloadAsync(secret, _ => true, cancellationToken);
        }
    }

    /// <summary>The current value, read again from the vault when older than the refresh interval; null when not set.</summary>
    public async ValueTask<string?> GetAsync(string name, CancellationToken cancellationToken)
    {
        if (!vaultSecrets.TryGetValue(name, out var secret))
        {
            return configuration[ConfigurationKey(name)];
        }
        if (secret.Current is { } current && time.GetUtcNow() < current.DueAt)
        {
            return current.Value;
        }
        await ReloadAsync(secret, held => held is null || time.GetUtcNow() >= held.DueAt, cancellationToken);
        return secret.Current?.Value;
    }

    /// <summary>
    /// Reads the secret again now because <paramref name="rejected"/> was refused (a 401), unless another caller has
    /// already replaced that value, so a burst of rejections costs one vault read. Returns the value now held.
    /// </summary>
    public async Task<string?> RefreshAsync(string name, string? rejected, CancellationToken cancellationToken)
    {
        if (!vaultSecrets.TryGetValue(name, out var secret))
        {
            return configuration[ConfigurationKey(name)];
        }
        await ReloadAsync(secret, held => held is null || held.Value == rejected, cancellationToken);
        return secret.Current?.Value;
    }

    private string ConfigurationKey(string name) =>
        definitions.TryGetValue(name, out var definition)
            ? definition.ConfigurationKey
            : throw new InvalidOperationException($"No secret named {name} is registered (AddSecret) or mapped in KeyVault:Secrets.");

    /// <summary>One read at a time per secret; <paramref name="stillNeeded"/> is checked after waiting for the previous one.</summary>
    private async Task ReloadAsync(VaultSecret secret, Func<Held?, bool> stillNeeded, CancellationToken cancellationToken)
    {
        await secret.Gate.WaitAsync(cancellationToken);
        try
        {
            var held = secret.Current;
            if (!stillNeeded(held))
            {
                return;
            }
            try
            {
                var value = await ReadAsync(secret, cancellationToken);
                secret.Current = new Held(value, time.GetUtcNow(), time.GetUtcNow() + options.RefreshInterval);
                if (held is not null)
                {
                    SecretsLog.Refreshed(logger, secret.Name, options.VaultUri!, held.Value == value ? "unchanged" : "a new value");
                }
            }
            catch (SecretUnavailableException ex) when (held is not null)
            {
                // The last good value stays in use; the next read is due after another interval.
                secret.Current = held with { DueAt = time.GetUtcNow() + options.RefreshInterval };
                SecretsLog.RefreshFailed(logger, secret.Name, held.ReadAt, ex.Message);
            }
        }
        finally
        {
            secret.Gate.Release();
        }
    }

    private async Task<string> ReadAsync(VaultSecret secret, CancellationToken cancellationToken)
    {
        var where = $"Secret '{secret.SecretName}' ({secret.Name}) in Key Vault {options.VaultUri}";
        try
        {
            var value = (await vault!.GetSecretAsync(secret.SecretName, version: null, outContentType: null, cancellationToken)).Value.Value;
            return string.IsNullOrEmpty(value) ? throw new SecretUnavailableException(secret.Name, $"{where} is empty.") : value;
        }
        catch (RequestFailedException ex)
        {
            throw new SecretUnavailableException(secret.Name, ex.Status switch
            {
                0 => $"{where} could not be read: the vault is unreachable ({ex.InnerException?.Message ?? ex.Message}).",
                401 => $"{where} could not be read: the vault rejected the app's credentials (HTTP 401 {ex.ErrorCode}).",
                403 => $"{where} could not be read: access denied (HTTP 403 {ex.ErrorCode}). " +
                       "Give the app's identity (KeyVault:ManagedIdentityClientId) the 'Key Vault Secrets User' role on the vault.",
                404 => $"{where} does not exist (HTTP 404 {ex.ErrorCode}). Create it, or map KeyVault:Secrets:{secret.Name} to the right secret.",
                _ => $"{where} could not be read (HTTP {ex.Status} {ex.ErrorCode}).",
            }, ex);
        }
        catch (AggregateException ex)
        {
            // Azure.Core's retry policy, giving up on transport failures, throws every attempt's exception together.
            throw new SecretUnavailableException(secret.Name,
                $"{where} could not be read: the vault is unreachable ({ex.InnerExceptions.Count} attempts; last: {ex.InnerExceptions[^1].Message}).", ex);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new SecretUnavailableException(secret.Name,
                $"{where} could not be read: no credential could get a token for the vault ({ex.GetType().Name}). " +
                "In Azure set KeyVault:ManagedIdentityClientId to the user-assigned identity's client id; locally sign in with 'az login'.", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SecretUnavailableException(secret.Name, $"{where} could not be read: the vault did not answer in time.", ex);
        }
    }

    private sealed record Held(string Value, DateTimeOffset ReadAt, DateTimeOffset DueAt);

    private sealed class VaultSecret(string name, string secretName)
    {
        public string Name { get; } = name;
        public string SecretName { get; } = secretName;
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>Replaced whole, so a reader outside the gate sees a consistent value and due time.</summary>
        public Held? Current { get; set; }
    }
}
