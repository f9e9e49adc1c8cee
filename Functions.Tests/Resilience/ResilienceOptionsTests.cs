using Functions.Core;
using Functions.Core.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Resilience;

public sealed class ResilienceOptionsTests
{
    private static ResilienceOptions Resolve(string processingLease, string heartbeat = "00:00:10", string longWait = "00:00:10")
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OpenAI:ApiKey"] = "k",
            ["Resilience:ProcessingLease"] = processingLease,
            ["Resilience:LeaseHeartbeat"] = heartbeat,
            ["Resilience:LongWaitThreshold"] = longWait,
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging()
            .AddServerlessCore(configuration).BuildServiceProvider();
        return services.GetRequiredService<IOptions<ResilienceOptions>>().Value;
    }

    [Theory]
    [InlineData("00:00:29", "00:00:10", "00:00:10")] // a back-off between calls plus a missed beat would outlast it
    [InlineData("00:00:10", "00:00:05", "00:00:01")]
    public void ProcessingLease_ShorterThanABackoffAndTwoBeats_IsRefusedAtStartUp(string lease, string heartbeat, string longWait)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(lease, heartbeat, longWait));

        Assert.Contains("Resilience:ProcessingLease", error.Message);
    }

    [Fact]
    public void Defaults_AreAShortLeaseRenewedEveryTenSeconds_AndASweepEveryFifteen()
    {
        var options = Resolve(processingLease: "00:00:30");

        Assert.Equal(TimeSpan.FromSeconds(30), options.ProcessingLease);
        Assert.Equal(TimeSpan.FromSeconds(10), options.LeaseHeartbeat);
        Assert.Equal("*/15 * * * * *", new ResilienceOptions().JobSweepSchedule);
    }
}
