using Azure.Storage.Queues;
using Functions.Local;
using Functions.Local.Development;
using Microsoft.Azure.WebJobs;
using Microsoft.Azure.WebJobs.Host;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Local;

public sealed class FunctionsConfigurationFilesTests
{
    [Fact]
    public void HostJsonQueueSettings_ReachTheWebJobsQueueTrigger_AndEnvironmentStillWins()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        FunctionsConfigurationFiles.Add(builder.Configuration, builder.Environment);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost:extensions:queues:batchSize"] = "7", // what AzureFunctionsJobHost__… app settings do
        });
        builder.Services.AddWebJobs(_ => { }).AddAzureStorageQueues();
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<QueuesOptions>>().Value;

        // The repository's host.json (checked in beside this test's solution).
        Assert.Equal(7, options.BatchSize);
        Assert.Equal(8, options.NewBatchThreshold);
        Assert.Equal(5, options.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromSeconds(5), options.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), options.MaxPollingInterval);
        Assert.Equal(QueueMessageEncoding.Base64, options.MessageEncoding);
    }

    [Theory]
    [InlineData("Development", "from-local-settings")]
    [InlineData("Production", null)]
    [InlineData("Testing", null)]
    public void LocalSettingsJson_IsReadInDevelopmentOnly(string environment, string? expected)
    {
        // Arrange: a local.settings.json beside the binaries (the repository's own, if any, is read first: skip then).
        var file = Path.Combine(AppContext.BaseDirectory, "local.settings.json");
        if (RepositoryFiles.FindRoot() is { } root && File.Exists(Path.Combine(root, "local.settings.json")) || File.Exists(file))
        {
            return;
        }
        File.WriteAllText(file, """{ "Values": { "Test__LocalSetting": "from-local-settings" } }""");
        try
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = environment });

            FunctionsConfigurationFiles.Add(builder.Configuration, builder.Environment);

            Assert.Equal(expected, builder.Configuration["Test:LocalSetting"]);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
