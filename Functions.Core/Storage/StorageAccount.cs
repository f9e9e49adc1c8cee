using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Functions.Core.Settings;
using Microsoft.Extensions.Configuration;

namespace Functions.Core.Storage;

/// <summary>
/// The storage account the Functions host itself uses, read from <c>AzureWebJobsStorage</c> exactly as the host
/// reads it: a connection string (Azurite locally), or identity-based settings in Azure
/// (<c>AzureWebJobsStorage__accountName</c> or <c>__queueServiceUri</c>/<c>__tableServiceUri</c>, with
/// <c>__credential=managedidentity</c> and <c>__clientId</c> for a user-assigned identity).
/// </summary>
public sealed class StorageAccount
{
    public const string SettingName = "AzureWebJobsStorage";

    private readonly string? connectionString;
    private readonly Uri? queueServiceUri;
    private readonly Uri? tableServiceUri;
    private readonly TokenCredential? credential;

    private StorageAccount(string? connectionString, Uri? queueServiceUri, Uri? tableServiceUri, TokenCredential? credential)
    {
        this.connectionString = connectionString;
        this.queueServiceUri = queueServiceUri;
        this.tableServiceUri = tableServiceUri;
        this.credential = credential;
    }

    public static StorageAccount FromConfiguration(IConfiguration configuration)
    {
        var connectionString = configuration[SettingName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            try
            {
                // Parsed now, so a malformed string (a truncated account key) stops start-up naming the setting.
                _ = new TableServiceClient(connectionString);
                _ = new QueueServiceClient(connectionString);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new InvalidSettingException(SettingName,
                    "is not a valid storage connection string (UseDevelopmentStorage=true for Azurite, or an account's " +
                    "DefaultEndpointsProtocol=…;AccountName=…;AccountKey=… with a base64 key).", ex);
            }
            return new StorageAccount(connectionString, null, null, null);
        }

        var section = configuration.GetSection(SettingName);
        var accountName = section["accountName"];
        var queueUri = section["queueServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.queue.core.windows.net");
        var tableUri = section["tableServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.table.core.windows.net");
        if (queueUri is null || tableUri is null)
        {
            throw new InvalidSettingException(SettingName,
                "is not set: set it to a connection string (UseDevelopmentStorage=true for Azurite) " +
                $"or set '{SettingName}__accountName' (or '__queueServiceUri' and '__tableServiceUri') for identity-based access.");
        }

        var clientId = section["clientId"];
        TokenCredential credential = string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(string.IsNullOrEmpty(clientId)
                ? ManagedIdentityId.SystemAssigned
                : ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
        return new StorageAccount(null, ServiceUri(queueUri, "queueServiceUri"), ServiceUri(tableUri, "tableServiceUri"), credential);
    }

    private static Uri ServiceUri(string value, string name) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"
            ? uri
            : throw new InvalidSettingException($"{SettingName}__{name}",
                "must be an absolute https URI (from __accountName, a valid storage account name).");

    /// <summary>
    /// Base64 messages by default: what the Functions queue trigger expects unless host.json sets messageEncoding.
    /// </summary>
    public QueueServiceClient CreateQueueServiceClient(QueueClientOptions? options = null)
    {
        options ??= new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        return connectionString is not null
            ? new QueueServiceClient(connectionString, options)
            : new QueueServiceClient(queueServiceUri, credential, options);
    }

    public TableServiceClient CreateTableServiceClient() =>
        connectionString is not null
            ? new TableServiceClient(connectionString)
            : new TableServiceClient(tableServiceUri, credential);
}
