using System.ClientModel;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Functions.Core.Alerts;
using Functions.Core.Callers;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenAI;

namespace Functions.Core;

public static class ServiceCollectionExtensions
{
    /// <summary>Everything both hosts share: options, storage, the model client and the handlers the triggers call.</summary>
    public static IServiceCollection AddServerlessCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<CallerOptions>()
            // App Service sets WEBSITE_AUTH_ENABLED=True when its authentication runs in front of the app; only then
            // is the principal header the platform's word rather than the client's. Callers:TrustPrincipalHeader overrides.
            .Configure(options => options.TrustPrincipalHeader = configuration.GetValue<bool>("WEBSITE_AUTH_ENABLED"))
            .BindConfiguration(CallerOptions.SectionName);
        services.AddOptions<RequestLimitsOptions>().BindConfiguration(RequestLimitsOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OpenAIOptions>().BindConfiguration(OpenAIOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();

        AddStorage(services);
        AddModel(services);
        services.AddSpend();
        services.AddAlerts();

        services.AddSingleton<CallerResolver>();
        services.AddSingleton<ChatRequestReader>();
        services.AddSingleton<SubmitChatHandler>();
        services.AddSingleton<GetChatHandler>();
        services.AddSingleton<ProcessChatHandler>();
        services.AddSingleton<PoisonChatHandler>();
        return services;
    }

    private static void AddStorage(IServiceCollection services)
    {
        services.AddSingleton(provider => StorageAccount.FromConfiguration(provider.GetRequiredService<IConfiguration>()));
        services.AddSingleton(provider => provider.GetRequiredService<StorageAccount>().CreateQueueServiceClient());
        services.AddSingleton(provider => provider.GetRequiredService<StorageAccount>().CreateTableServiceClient());

        services.AddSingleton(provider => new JobTable(
            provider.GetRequiredService<TableServiceClient>().GetTableClient(Names(provider).JobsTable)));
        services.AddSingleton(provider => new JobQueue(
            provider.GetRequiredService<QueueServiceClient>().GetQueueClient(Names(provider).ChatQueue)));

        // Every table and queue the app uses, for StorageInitializer to create at start-up.
        services.AddSingleton(provider => provider.GetRequiredService<JobTable>().Client);
        services.AddSingleton(provider => provider.GetRequiredService<JobQueue>().Client);
        services.AddSingleton(provider => provider.GetRequiredService<QueueServiceClient>().GetQueueClient(Names(provider).PoisonQueue));
        services.AddHostedService<StorageInitializer>();
    }

    private static void AddModel(IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<OpenAIOptions>>().Value;
            var clientOptions = new OpenAIClientOptions { NetworkTimeout = options.NetworkTimeout };
            if (options.Endpoint is not null)
            {
                clientOptions.Endpoint = options.Endpoint;
            }
            // The SDK insists on a credential; a keyless compatible endpoint (Ollama) ignores this placeholder.
            var key = string.IsNullOrWhiteSpace(options.ApiKey) ? "no-key-configured" : options.ApiKey;
            return new OpenAIClient(new ApiKeyCredential(key), clientOptions);
        });
        services.AddSingleton<IChatModel, OpenAIChatModel>();
    }

    private static StorageOptions Names(IServiceProvider provider) => provider.GetRequiredService<IOptions<StorageOptions>>().Value;
}
