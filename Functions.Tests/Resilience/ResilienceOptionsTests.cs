using Functions.Core;
using Functions.Core.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Resilience;

public sealed class ResilienceOptionsTests
{
    private static ResilienceOptions Resolve(string processingLease, string networkTimeout)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OpenAI:ApiKey"] = "k",
            ["OpenAI:NetworkTimeout"] = networkTimeout,
            ["Resilience:ProcessingLease"] = processingLease,
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging()
            .AddServerlessCore(configuration).BuildServiceProvider();
        return services.GetRequiredService<IOptions<ResilienceOptions>>().Value;
    }

    [Fact]
    public void ProcessingLease_ShorterThanACallAndItsRetry_IsRefusedAtStartUp()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(processingLease: "00:02:00", networkTimeout: "00:01:40"));

        Assert.Contains("Resilience:ProcessingLease", error.Message);
    }

    [Fact]
    public void ProcessingLease_CoveringTwoCallsAndAMinute_IsAccepted() =>
        Assert.Equal(TimeSpan.FromMinutes(5), Resolve(processingLease: "00:05:00", networkTimeout: "00:01:40").ProcessingLease);
}
