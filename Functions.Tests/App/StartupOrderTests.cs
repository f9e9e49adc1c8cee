using Azure.Data.Tables;
using Azure.Security.KeyVault.Secrets;
using Azure.Storage.Queues;
using Functions.Tests.Infrastructure;
using Functions.Tests.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moq;

namespace Functions.Tests.App;

/// <summary>
/// In Azure the worker accepts invocations once its hosted services start (the gRPC connection to the Functions host,
/// Kestrel). Key Vault secrets and the tables and queues must be ready before the first of them starts, or a first
/// invocation on a fresh deployment finds no table.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class StartupOrderTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    [Fact]
    public async Task SecretsAndStorage_AreReady_BeforeAnyHostedServiceOfTheFunctionsAppStarts()
    {
        var vault = new Mock<SecretClient>(MockBehavior.Strict);
        vault.SetupKeyReads("sk-from-the-vault");
        var settings = TestSettings.For(Azurite, Model.BaseUrl, TestVault.Settings());
        var probe = new FirstToStart(Azurite.ConnectionString, settings["Storage:JobsTable"]!, settings["Storage:ChatQueue"]!, vault);
        var app = StopAfterTest(FunctionsAppHost.Build(settings, services =>
        {
            services.AddSingleton(vault.Object);
            services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(probe)); // starts before the worker's own
        }));
        var hosted = app.Services.GetServices<IHostedService>().ToList();

        await Assert.ThrowsAsync<FirstToStart.Stop>(() => app.Host.StartAsync());

        // The probe starts first; the worker's connection to the Functions host and Kestrel would have started after it.
        Assert.Same(probe, hosted[0]);
        Assert.Contains(hosted, service => service.GetType().Name == "WorkerHostedService");
        Assert.Contains(hosted, service => service.GetType().Name == "GenericWebHostService");
        Assert.True(probe.SecretsRead, "the vault was not read before the first hosted service started");
        Assert.True(probe.JobsTableExisted, "the jobs table did not exist when the first hosted service started");
        Assert.True(probe.ChatQueueExisted, "the chat queue did not exist when the first hosted service started");
    }

    /// <summary>Notes what is ready when its StartAsync runs, then stops the host's start before anything else starts.</summary>
    private sealed class FirstToStart(string connectionString, string jobsTable, string chatQueue, Mock<SecretClient> vault) : IHostedService
    {
        public bool SecretsRead { get; private set; }
        public bool JobsTableExisted { get; private set; }
        public bool ChatQueueExisted { get; private set; }

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            SecretsRead = vault.Invocations.Count > 0;
            JobsTableExisted = await new TableServiceClient(connectionString)
                .QueryAsync(table => table.Name == jobsTable, cancellationToken: cancellationToken).AnyAsync(cancellationToken);
            ChatQueueExisted = await new QueueClient(connectionString, chatQueue).ExistsAsync(cancellationToken);
            throw new Stop();
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public sealed class Stop : Exception;
    }
}
