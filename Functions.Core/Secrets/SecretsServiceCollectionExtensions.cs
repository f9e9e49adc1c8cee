using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Secrets;

public static class SecretsServiceCollectionExtensions
{
    /// <summary>Key Vault options, the one <see cref="SecretClient"/>, the <see cref="SecretStore"/> and its start-up loader.</summary>
    public static IServiceCollection AddSecrets(this IServiceCollection services)
    {
        services.AddOptions<KeyVaultOptions>().BindConfiguration(KeyVaultOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();

        // Built only when a vault is configured. Tests may register their own first.
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<KeyVaultOptions>>().Value;
            var clientId = string.IsNullOrWhiteSpace(options.ManagedIdentityClientId) ? null : options.ManagedIdentityClientId;
            return new SecretClient(options.VaultUri ?? throw new InvalidOperationException("KeyVault:VaultUri is not set."),
                new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId }));
        });
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<KeyVaultOptions>>();
            return new SecretStore(provider.GetServices<SecretDefinition>(), options, provider.GetRequiredService<IConfiguration>(),
                options.Value.VaultUri is null ? null : provider.GetRequiredService<SecretClient>(),
                provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<SecretStore>>());
        });
        services.AddHostedService<SecretsLoader>();

        // The app's secrets. A new one is a line here plus KeyVault__Secrets__<Name>=<vault secret name> in the settings.
        services.AddSecret(SecretNames.OpenAIApiKey, "OpenAI:ApiKey");
        return services;
    }

    /// <summary>Registers a logical secret and the configuration setting that holds it when no vault maps it.</summary>
    public static IServiceCollection AddSecret(this IServiceCollection services, string name, string configurationKey) =>
        services.AddSingleton(new SecretDefinition(name, configurationKey));
}
