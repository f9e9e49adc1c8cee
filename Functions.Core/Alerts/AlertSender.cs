using System.Text;
using Functions.Core.Secrets;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Alerts;

/// <summary>
/// Posts alerts to the configured channels. The HTTP client it uses has its request logging removed (see
/// <see cref="AlertsServiceCollectionExtensions"/>), because a webhook URL is its own credential; failures are
/// logged by channel name and status only.
/// </summary>
public sealed class AlertSender(IHttpClientFactory clients, SecretStore secrets, ILogger<AlertSender> logger)
{
    public const string HttpClientName = "alerts";

    /// <summary>The channels as the secret store has them now (so a rotated webhook URL is used without a restart).</summary>
    public async ValueTask<IReadOnlyList<AlertChannel>> ChannelsAsync(CancellationToken cancellationToken) =>
        AlertOptions.ChannelsFor(
            await secrets.GetAsync(SecretNames.AlertsWebhookUrl, cancellationToken),
            await secrets.GetAsync(SecretNames.AlertsSlackWebhookUrl, cancellationToken),
            await secrets.GetAsync(SecretNames.AlertsTeamsWebhookUrl, cancellationToken));

    /// <returns>True when the channel answered 2xx; false (never an exception) when it failed, so the alert stays pending.</returns>
    public async Task<bool> SendAsync(AlertChannel channel, AlertMessage message, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new StringContent(message.Body(channel.Format), Encoding.UTF8, "application/json");
            using var response = await clients.CreateClient(HttpClientName).PostAsync(channel.Url, content, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return true;
            }
            AlertsLog.ChannelRejected(logger, channel.Name, message.Id, (int)response.StatusCode);
        }
        catch (HttpRequestException ex)
        {
            AlertsLog.ChannelUnreachable(logger, channel.Name, message.Id, ex.HttpRequestError.ToString());
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            AlertsLog.ChannelUnreachable(logger, channel.Name, message.Id, "Timeout");
        }
        return false;
    }
}
