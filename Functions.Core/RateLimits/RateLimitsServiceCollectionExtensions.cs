using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Core.RateLimits;

public static class RateLimitsServiceCollectionExtensions
{
    /// <summary>Per-caller limits, upstream pacing and their table.</summary>
    public static IServiceCollection AddRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(provider => new RateLimitStore(provider.GetRequiredService<TableServiceClient>()
            .GetTableClient(provider.GetRequiredService<IOptions<RateLimitOptions>>().Value.Table)));
        // Registered as a TableClient too, so StorageInitializer creates it at start-up.
        services.AddSingleton(provider => provider.GetRequiredService<RateLimitStore>().Client);
        services.AddSingleton<WorstCaseTokens>();
        services.AddSingleton<CallerRateLimiter>();
        services.AddSingleton<UpstreamPacer>();
        return services;
    }
}
