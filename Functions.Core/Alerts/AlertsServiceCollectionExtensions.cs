using Functions.Core.Secrets;
using Microsoft.Extensions.DependencyInjection;

namespace Functions.Core.Alerts;

public static class AlertsServiceCollectionExtensions
{
    /// <summary>Budget threshold alerts, operational alerts and the daily digest, over a generic webhook, Slack and Teams.</summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services)
    {
        services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OperationalAlertOptions>().BindConfiguration(OperationalAlertOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();

        // Webhook URLs are credentials: secrets, from Key Vault when KeyVault__Secrets__<Name> maps them, else these settings.
        services.AddSecret(SecretNames.AlertsWebhookUrl, "Alerts:WebhookUrl");
        services.AddSecret(SecretNames.AlertsSlackWebhookUrl, "Alerts:SlackWebhookUrl");
        services.AddSecret(SecretNames.AlertsTeamsWebhookUrl, "Alerts:TeamsWebhookUrl");

        // No request logging on this client: a webhook URL is a credential and the default handlers log URLs.
        services.AddHttpClient(AlertSender.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10)).RemoveAllLoggers();

        services.AddSingleton<AlertSender>();
        services.AddSingleton<AlertStates>();
        services.AddSingleton<AlertDelivery>();
        services.AddSingleton<BudgetAlerts>();
        services.AddSingleton<DailyDigest>();
        services.AddSingleton<AlertEpisodes>();
        services.AddSingleton<OperationalAlerts>();
        return services;
    }
}
