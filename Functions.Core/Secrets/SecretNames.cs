namespace Functions.Core.Secrets;

/// <summary>The app's logical secret names: the keys of <c>KeyVault:Secrets</c> and of <see cref="SecretStore"/>.</summary>
public static class SecretNames
{
    public const string OpenAIApiKey = "OpenAIApiKey";
    public const string AlertsWebhookUrl = "AlertsWebhookUrl";
    public const string AlertsSlackWebhookUrl = "AlertsSlackWebhookUrl";
    public const string AlertsTeamsWebhookUrl = "AlertsTeamsWebhookUrl";

    /// <summary>The HMAC key that signs job-stream URLs (<c>streamUrl</c>); every instance must share it.</summary>
    public const string JobStreamSigningKey = "JobStreamSigningKey";

    /// <summary>
    /// The vault secret a logical name maps to when a vault is configured and <c>KeyVault:Secrets</c> does not map it:
    /// the OpenAI key is <c>openai-api-key</c>, the name infra/ creates. Without this a vault with no mapping would be
    /// silently unused and the app would run keyless.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> VaultDefaults =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [OpenAIApiKey] = "openai-api-key" };
}

/// <summary>A secret the app reads, and the configuration setting that holds it when no vault maps it.</summary>
/// <param name="ConfigurationKey">Colon form, e.g. <c>OpenAI:ApiKey</c> (the app setting <c>OpenAI__ApiKey</c>).</param>
public sealed record SecretDefinition(string Name, string ConfigurationKey);
