using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Functions.Core.Alerts;
using Functions.Core.Cache;
using Functions.Core.ChatCompletions;
using Functions.Core.Callers;
using Functions.Core.Completions;
using Functions.Core.Conversations;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Jobs.Streams;
using Functions.Core.Requests;
using Functions.Core.Resilience;
using Functions.Core.Routing;
using Functions.Core.Secrets;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Functions.Core.Telemetry;
using Functions.Core.Tokens;
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
        services.TryAddSingleton(Random.Shared);

        services.AddOptions<CallerOptions>()
            // App Service sets WEBSITE_AUTH_ENABLED=True when its authentication runs in front of the app; only then
            // is the principal header the platform's word rather than the client's. Callers:TrustPrincipalHeader overrides.
            .Configure(options => options.TrustPrincipalHeader = configuration.GetValue<bool>("WEBSITE_AUTH_ENABLED"))
            .BindConfiguration(CallerOptions.SectionName);
        services.AddOptions<RequestLimitsOptions>().BindConfiguration(RequestLimitsOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OpenAIOptions>().BindConfiguration(OpenAIOptions.SectionName)
            .PostConfigure<IOptions<KeyVaultOptions>>((options, vault) =>
            {
                // An entry whose every setting is empty is not there (a template's unused fallback slot).
                options.Endpoints.RemoveAll(e => string.IsNullOrWhiteSpace(e.Name) && e.Url is null && string.IsNullOrWhiteSpace(e.ApiKey)
                                                 && string.IsNullOrWhiteSpace(e.KeyVaultSecret));
                options.Models.RemoveAll(m => string.IsNullOrWhiteSpace(m.Name) && string.IsNullOrWhiteSpace(m.Endpoint)
                                              && string.IsNullOrWhiteSpace(m.Deployment) && m.RequestsPerMinute is null && m.TokensPerMinute is null);
                options.ApiKeyInKeyVault = vault.Value.VaultSecretName(SecretNames.OpenAIApiKey) is not null;
                options.EndpointKeysInKeyVault = options.Endpoints.Where(endpoint => vault.Value.VaultSecretName(endpoint.SecretName) is not null)
                    .Select(endpoint => endpoint.Name).ToHashSet(StringComparer.Ordinal);
                foreach (var model in options.Models)
                {
                    model.ResolvedUrl = options.EndpointOf(model)?.Url;
                }
            })
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddModelRouting();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ResilienceOptions>().BindConfiguration(ResilienceOptions.SectionName)
            .ValidateDataAnnotations()
            // The heartbeat renews the lease during a call; between calls (a short back-off, the recording) nothing does, so
            // a lease that ran out there would let a second worker take the job over while this one still runs it.
            .Validate(resilience => resilience.ProcessingLease >= resilience.LongWaitThreshold + 2 * resilience.LeaseHeartbeat,
                "Resilience:ProcessingLease must be at least Resilience:LongWaitThreshold plus twice Resilience:LeaseHeartbeat " +
                "(a back-off between calls, and a missed beat).")
            .ValidateOnStart();

        services.AddApiProblems();
        services.AddSecrets();
        services.AddEndpointSecrets(configuration);
        services.AddTokens();
        AddStorage(services);
        AddModel(services);
        services.AddResponseCache();
        services.AddJobStreams();
        services.AddSpend();
        services.AddAlerts();
        services.AddRateLimits();
        services.AddServerlessTelemetry(configuration);

        services.AddSingleton<CallerResolver>();
        services.AddSingleton<ChatRequestReader>();
        services.AddSingleton<SubmitChatHandler>();
        services.AddSingleton<GetChatHandler>();
        services.AddSingleton<JobLeases>();
        services.AddSingleton<JobWaits>();
        services.AddSingleton<JobSweeper>();
        services.AddSingleton<ModelCaller>();
        services.AddSingleton<PaidCallRecorder>();
        services.AddSingleton<ProcessChatHandler>();
        services.AddSingleton<PoisonChatHandler>();
        services.AddSingleton<SweepHandler>();
        services.AddChatCompletions();
        services.AddConversations();
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
            provider.GetRequiredService<QueueServiceClient>().GetQueueClient(Names(provider).ChatQueue),
            provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new UpstreamGate(
            provider.GetRequiredService<TableServiceClient>().GetTableClient(Names(provider).GateTable),
            provider.GetRequiredService<TimeProvider>()));

        // Every table and queue the app uses, for StorageInitializer to create at start-up.
        services.AddSingleton(provider => provider.GetRequiredService<JobTable>().Client);
        services.AddSingleton(provider => provider.GetRequiredService<UpstreamGate>().Client);
        services.AddSingleton(provider => provider.GetRequiredService<JobQueue>().Client);
        services.AddSingleton(provider => provider.GetRequiredService<QueueServiceClient>().GetQueueClient(Names(provider).PoisonQueue));
        services.AddHostedService<StorageInitializer>();
    }

    private static void AddModel(IServiceCollection services)
    {
        // One HTTP connection pool for every endpoint; one OpenAIClient, credential and key refresher per endpoint.
        services.AddSingleton(_ => new UpstreamHttpClient(UpstreamHttpClient()));
        services.AddSingleton(provider => new EndpointModels(
            provider.GetRequiredService<IOptions<OpenAIOptions>>().Value.EffectiveEndpoints.ToDictionary(
                endpoint => endpoint.Name, endpoint => EndpointModel(provider, endpoint), StringComparer.Ordinal)));
        // Outside in: the model's endpoint and deployment → key refresh (may call twice on a rotated key) → one GenAI
        // span per upstream call → the SDK.
        services.TryAddSingleton<IChatModel>(provider => ActivatorUtilities.CreateInstance<RoutedChatModel>(provider));
        services.AddSingleton<RetryPolicy>();
        services.AddSingleton<CircuitBreaker>();
    }

    private static IChatModel EndpointModel(IServiceProvider provider, EndpointOptions endpoint)
    {
        var options = provider.GetRequiredService<IOptions<OpenAIOptions>>().Value;
        var clientOptions = new OpenAIClientOptions
        {
            NetworkTimeout = options.NetworkTimeout,
            // One retry owner per request: the door that uses ModelCaller. The SDK would otherwise retry 408/429/5xx three more times on
            // its own, multiplying upstream load under every retry we make and hiding the server's hints from us.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            Transport = new HttpClientPipelineTransport(provider.GetRequiredService<UpstreamHttpClient>().Client),
        };
        if (endpoint.Url is not null)
        {
            clientOptions.Endpoint = endpoint.Url;
        }
        // One credential per endpoint, kept current by KeyRefreshingChatModel from the secret store (Key Vault or the setting).
        var credential = new ApiKeyCredential(KeyRefreshingChatModel.NoKey);
        var deployments = options.Models.Where(model => model.Deployment is { Length: > 0 })
            .ToDictionary(model => model.Name, model => model.Deployment!, StringComparer.Ordinal);
        var sdk = new OpenAIChatModel(new OpenAIClient(credential, clientOptions), provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<UpstreamPacer>(), deployments);
        var instrumented = new InstrumentedChatModel(sdk, provider.GetRequiredService<ServerlessTelemetry>(), endpoint.Url);
        return new KeyRefreshingChatModel(instrumented, credential, provider.GetRequiredService<SecretStore>(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<KeyRefreshingChatModel>>(), endpoint.SecretName);
    }

    /// <summary>
    /// The one connection pool to the model. A stream the caller abandons is cut at once: by default .NET would keep
    /// reading the rest of a disposed response for up to two seconds to reuse the connection, and every token the model
    /// generates in those seconds is billed to us but never seen, so never counted.
    /// </summary>
    private static HttpClient UpstreamHttpClient() => new(new SocketsHttpHandler
    {
        MaxResponseDrainSize = 0,
        ResponseDrainTimeout = TimeSpan.Zero,
        // Connections are re-made now and then so a moved endpoint (DNS) is followed.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        // The SDK's NetworkTimeout governs each call.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private static StorageOptions Names(IServiceProvider provider) => provider.GetRequiredService<IOptions<StorageOptions>>().Value;
}
