using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
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
            return new StorageAccount(connectionString, null, null, null);
        }

        var section = configuration.GetSection(SettingName);
        var accountName = section["accountName"];
        var queueUri = section["queueServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.queue.core.windows.net");
        var tableUri = section["tableServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.table.core.windows.net");
        if (queueUri is null || tableUri is null)
        {
            throw new InvalidOperationException(
                $"Storage is not configured: set '{SettingName}' to a connection string (UseDevelopmentStorage=true for Azurite) " +
                $"or set '{SettingName}__accountName' (or '__queueServiceUri' and '__tableServiceUri') for identity-based access.");
        }

        var clientId = section["clientId"];
        TokenCredential credential = string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(string.IsNullOrEmpty(clientId)
                ? ManagedIdentityId.SystemAssigned
                : ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
        return new StorageAccount(null, new Uri(queueUri), new Uri(tableUri), credential);
    }

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
