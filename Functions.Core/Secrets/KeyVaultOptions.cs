using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace Functions.Core.Secrets;

/// <summary>
/// Where secrets come from in Azure. Bound from the <c>KeyVault</c> configuration section. With no
/// <see cref="VaultUri"/> every secret is read from configuration (local.settings.json, user secrets, environment).
/// </summary>
public sealed partial class KeyVaultOptions : IValidatableObject
{
    public const string SectionName = "KeyVault";

    /// <summary><c>https://{vault-name}.vault.azure.net/</c>; unset means no vault.</summary>
    public Uri? VaultUri { get; set; }

    /// <summary>Client id of the user-assigned managed identity that reads the vault; unset lets DefaultAzureCredential choose.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>How long a value read from the vault is used before it is read again (rotation without restart).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "KeyVault:RefreshInterval must be between 1 second and 1 day.")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Logical secret name → vault secret name, one app setting each: <c>KeyVault__Secrets__OpenAIApiKey=openai-api-key</c>.
    /// With a vault configured, the OpenAI key left out is read from the vault's <c>openai-api-key</c>; any other name
    /// left out (or empty) is read from configuration instead.
    /// </summary>
    public Dictionary<string, string> Secrets { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The vault secret that holds <paramref name="name"/> when a vault is configured: the one <see cref="Secrets"/> maps,
    /// else its default (<see cref="SecretNames.VaultDefaults"/>: <c>openai-api-key</c> for the OpenAI key); null without a vault.
    /// </summary>
    public string? VaultSecretName(string name) =>
        VaultUri is null ? null
        : Secrets.TryGetValue(name, out var secretName) && !string.IsNullOrWhiteSpace(secretName) ? secretName
        : SecretNames.VaultDefaults.GetValueOrDefault(name);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (VaultUri is not null && !(VaultUri.IsAbsoluteUri && VaultUri.Scheme == Uri.UriSchemeHttps))
        {
            yield return new ValidationResult("KeyVault:VaultUri must be an absolute https URI such as https://my-vault.vault.azure.net/.",
                [nameof(VaultUri)]);
        }
        if (!string.IsNullOrWhiteSpace(ManagedIdentityClientId) && !Guid.TryParse(ManagedIdentityClientId, out _))
        {
            yield return new ValidationResult("KeyVault:ManagedIdentityClientId must be the identity's client id (a GUID).",
                [nameof(ManagedIdentityClientId)]);
        }
        foreach (var (name, secretName) in Secrets.Where(entry => !string.IsNullOrWhiteSpace(entry.Value)))
        {
            if (!VaultSecretNamePattern().IsMatch(secretName))
            {
                yield return new ValidationResult(
                    $"KeyVault:Secrets:{name} must be a vault secret name: 1-127 letters, digits and dashes.", [nameof(Secrets)]);
            }
        }
    }

    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial Regex VaultSecretNamePattern();
}
