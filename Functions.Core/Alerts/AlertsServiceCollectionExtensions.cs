using Microsoft.Extensions.DependencyInjection;

namespace Functions.Core.Alerts;

public static class AlertsServiceCollectionExtensions
{
    /// <summary>Budget threshold alerts and the daily digest, over a generic webhook, Slack and Teams.</summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services)
    {
        // The URLs come from configuration, so a Key Vault reference (@Microsoft.KeyVault(...)) in the app setting or
        // a Key Vault configuration provider supplies them without code here.
        services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        // No request logging on this client: a webhook URL is a credential and the default handlers log URLs.
        services.AddHttpClient(AlertSender.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10)).RemoveAllLoggers();

        services.AddSingleton<AlertSender>();
        services.AddSingleton<AlertStates>();
        services.AddSingleton<AlertDelivery>();
        services.AddSingleton<BudgetAlerts>();
        services.AddSingleton<DailyDigest>();
        return services;
    }
}
