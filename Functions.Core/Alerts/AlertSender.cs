using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Alerts;

/// <summary>
/// Posts alerts to the configured channels. The HTTP client it uses has its request logging removed (see
/// <see cref="AlertsServiceCollectionExtensions"/>), because a webhook URL is its own credential; failures are
/// logged by channel name and status only.
/// </summary>
public sealed class AlertSender(IHttpClientFactory clients, IOptions<AlertOptions> options, ILogger<AlertSender> logger)
{
    public const string HttpClientName = "alerts";

    public IReadOnlyList<AlertChannel> Channels { get; } = options.Value.Channels();

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
