using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Core.Cache;

public static class CacheServiceCollectionExtensions
{
    /// <summary>The response cache: its options, its two tables (created at start-up with the others), both sides, the sweep.</summary>
    public static IServiceCollection AddResponseCache(this IServiceCollection services)
    {
        services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton(provider => new CacheTable(
            provider.GetRequiredService<TableServiceClient>().GetTableClient(Options(provider).Table),
            provider.GetRequiredService<TimeProvider>(), Options(provider).StaleIfErrorFor));
        services.AddSingleton(provider => provider.GetRequiredService<CacheTable>().Client);
        services.AddSingleton<StaleAnswers>();

        services.AddSingleton<CacheEntries>();
        services.AddSingleton<CacheLookup>();
        services.AddSingleton<SingleFlight>();
        services.AddSingleton<InteractiveFlights>();
        services.AddSingleton<CacheSweepHandler>();
        services.AddSingleton<Storage.ISweep>(provider => provider.GetRequiredService<CacheSweepHandler>());
        return services;
    }

    private static CacheOptions Options(IServiceProvider provider) => provider.GetRequiredService<IOptions<CacheOptions>>().Value;
}
