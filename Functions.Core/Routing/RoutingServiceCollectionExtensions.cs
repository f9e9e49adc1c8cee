using Functions.Core.Completions;
using Functions.Core.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Core.Routing;

public static class RoutingServiceCollectionExtensions
{
    /// <summary>Routes (validated against the models at start-up), the router and the model catalog.</summary>
    public static IServiceCollection AddModelRouting(this IServiceCollection services)
    {
        services.AddOptions<RoutingOptions>().BindConfiguration(RoutingOptions.SectionName)
            .PostConfigure(routing =>
            {
                // Empty entries are not there (a template's unused slots).
                foreach (var route in routing.Routes)
                {
                    route.Models.RemoveAll(string.IsNullOrWhiteSpace);
                }
                routing.Routes.RemoveAll(route => string.IsNullOrWhiteSpace(route.Name) && route.Models.Count == 0 && route.Rules.Count == 0);
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingValidation>();
        services.AddSingleton<ModelRouter>();
        services.AddSingleton<ModelCatalog>();
        return services;
    }

    /// <summary>
    /// Each listed endpoint's key as a secret of its own: <c>OpenAI:Endpoints:{n}:ApiKey</c>, or the vault secret its
    /// <c>KeyVaultSecret</c> names. The endpoints are read here, at registration, because secrets are registered then.
    /// </summary>
    public static IServiceCollection AddEndpointSecrets(this IServiceCollection services, IConfiguration configuration)
    {
        var endpoints = configuration.GetSection($"{OpenAIOptions.SectionName}:Endpoints").GetChildren().ToList();
        foreach (var endpoint in endpoints)
        {
            var name = endpoint["Name"];
            if (!string.IsNullOrWhiteSpace(name))
            {
                services.AddSecret(new EndpointOptions { Name = name }.SecretName, $"{endpoint.Path}:ApiKey");
            }
        }
        services.AddOptions<KeyVaultOptions>().PostConfigure(vault =>
        {
            foreach (var endpoint in endpoints)
            {
                if (endpoint["Name"] is { Length: > 0 } name && endpoint["KeyVaultSecret"] is { Length: > 0 } secret)
                {
                    vault.Secrets.TryAdd(new EndpointOptions { Name = name }.SecretName, secret);
                }
            }
        });
        return services;
    }
}
