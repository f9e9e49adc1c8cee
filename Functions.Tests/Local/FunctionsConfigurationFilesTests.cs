using Functions.Local;
using Functions.Local.Queues;
using Microsoft.Extensions.Configuration;

namespace Functions.Tests.Local;

public sealed class FunctionsConfigurationFilesTests
{
    [Fact]
    public void HostJsonQueueSettings_ReachTheLocalQueueTrigger_AndEnvironmentStillWins()
    {
        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentVariables();
        FunctionsConfigurationFiles.Add(configuration, loadLocalSettings: false);
        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost:extensions:queues:batchSize"] = "7", // what AzureFunctionsJobHost__… app settings do
        });

        var options = configuration.GetSection(QueueTriggerOptions.SectionName).Get<QueueTriggerOptions>()!;

        // The repository's host.json (checked in beside this test's solution).
        Assert.Equal(7, options.BatchSize);
        Assert.Equal(8, options.NewBatchThreshold);
        Assert.Equal(5, options.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromSeconds(5), options.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), options.MaxPollingInterval);
        Assert.Equal("base64", options.MessageEncoding);
    }
}
