using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Functions.Core.Spend;

public static class SpendServiceCollectionExtensions
{
    /// <summary>Prices, the ledger, budgets and reservations, the rollup and the spend report.</summary>
    public static IServiceCollection AddSpend(this IServiceCollection services)
    {
        services.AddOptions<SpendOptions>().BindConfiguration(SpendOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BudgetOptions>().BindConfiguration(BudgetOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.TryAddSingleton(provider => new SpendTable(provider.GetRequiredService<TableServiceClient>()
            .GetTableClient(provider.GetRequiredService<IOptions<SpendOptions>>().Value.Table)));
        // Registered as a TableClient too, so StorageInitializer creates it at start-up.
        services.AddSingleton(provider => provider.GetRequiredService<SpendTable>().Client);

        services.AddSingleton<PriceTable>();
        services.AddSingleton<SpendLedger>();
        services.AddSingleton<BatchedCacheSavingsRecorder>();
        services.AddSingleton<Cache.ICacheSavingsRecorder>(provider => provider.GetRequiredService<BatchedCacheSavingsRecorder>());
        services.AddHostedService(provider => provider.GetRequiredService<BatchedCacheSavingsRecorder>());
        services.AddSingleton<BudgetStore>();
        services.AddSingleton<BudgetCounterCache>();
        services.AddSingleton<BudgetReceipts>();
        services.AddSingleton<BudgetCommits>();
        services.AddSingleton<BudgetAllowances>();
        services.AddHostedService(provider => provider.GetRequiredService<BudgetAllowances>());
        services.AddSingleton<BudgetReservations>();
        services.AddSingleton<BudgetHeadrooms>();
        services.AddSingleton<SpendRollups>();
        services.AddSingleton<SpendRollup>();
        services.AddSingleton<SpendRollupHandler>();
        services.AddSingleton<SpendAdmins>();
        services.AddSingleton<SpendReportHandler>();
        return services;
    }
}
