using Functions.Core;
using Azure.Data.Tables;
using Functions.Core.Spend;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// Functions.Core's real services, without a host, against Azurite, with a clock the test moves. Each call gets
/// its own spend and rate-limit tables (two calls sharing their names act as two instances of the app).
/// </summary>
public static class CoreServices
{
    public static async Task<ServiceProvider> StartAsync(AzuriteFixture azurite, TimeProvider time,
        IReadOnlyDictionary<string, string?>? settings = null, ILoggerProvider? logs = null, Action<IServiceCollection>? before = null,
        Action<IServiceCollection>? after = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["OpenAI:ApiKey"] = "test-key",
            ["Storage:ChatQueue"] = AzuriteFixture.UniqueName("chat"),
            ["Storage:JobsTable"] = AzuriteFixture.UniqueName("jobs"),
            ["Spend:Table"] = AzuriteFixture.UniqueName("spend"),
            ["RateLimits:Table"] = AzuriteFixture.UniqueName("rates"),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(all).Build();

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging =>
        {
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        services.AddSingleton(time);
        before?.Invoke(services); // e.g. a mocked SecretClient, which Core adds only when none is registered
        services.AddServerlessCore(configuration);
        after?.Invoke(services); // e.g. a TableServiceClient whose pipeline the test watches
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<SpendTable>().Client.CreateIfNotExistsAsync();
        // By name, not through RateLimitStore: a test of invalid limits must get this far.
        await provider.GetRequiredService<TableServiceClient>().GetTableClient(all["RateLimits:Table"]).CreateIfNotExistsAsync();
        return provider;
    }

    /// <summary>A clock at a fixed, readable instant.</summary>
    public static FakeTimeProvider Clock(string utc) =>
        new(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal));
}
