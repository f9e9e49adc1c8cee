using System.Collections.Concurrent;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Functions.Local;
using Functions.Local.Queues;
using Functions.Tests.Infrastructure;
using Microsoft.Azure.WebJobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Functions.Tests.Local;

/// <summary>
/// The local queue trigger is the WebJobs SDK's, wired as Functions.Local wires it (host.json section, AzureWebJobsStorage,
/// %Setting% names): these keep the Functions host's contract the app relies on (retries then poison with the body,
/// undecodable messages to poison, success deletes, a concurrency bound, storage outages survived, drain on shutdown).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class QueueListenerTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const int BatchSize = 4, NewBatchThreshold = 2, MaxDequeueCount = 3;
    private readonly string name = AzuriteFixture.UniqueName("listen");
    private readonly QueueScript script = new();
    private QueueClient queue = null!;
    private QueueClient poison = null!;

    public async Task InitializeAsync()
    {
        queue = Queue(name, QueueMessageEncoding.Base64);
        poison = Queue(name + "-poison", QueueMessageEncoding.Base64);
        await queue.CreateIfNotExistsAsync();
        await poison.CreateIfNotExistsAsync();
    }

    public Task DisposeAsync() => Task.WhenAll(queue.DeleteIfExistsAsync(), poison.DeleteIfExistsAsync());

    private QueueClient Queue(string queueName, QueueMessageEncoding encoding) =>
        new(azurite.ConnectionString, queueName, new QueueClientOptions { MessageEncoding = encoding });

    /// <summary>What the function under the trigger does, per test.</summary>
    public sealed class QueueScript
    {
        public Func<QueueMessage, CancellationToken, Task> Run { get; set; } = (_, _) => Task.CompletedTask;
    }

    public sealed class ScriptedFunction(QueueScript script)
    {
        [FunctionName("Test")]
        public Task Run([QueueTrigger("%Test:Queue%")] QueueMessage message, CancellationToken cancellationToken) =>
            script.Run(message, cancellationToken);
    }

    private IHost BuildHost(string? connectionString = null)
    {
        var builder = Host.CreateApplicationBuilder();
        FunctionsConfigurationFiles.Add(builder.Configuration, builder.Environment);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString ?? azurite.ConnectionString,
            ["Test:Queue"] = name,
            ["AzureFunctionsJobHost:extensions:queues:batchSize"] = $"{BatchSize}",
            ["AzureFunctionsJobHost:extensions:queues:newBatchThreshold"] = $"{NewBatchThreshold}",
            ["AzureFunctionsJobHost:extensions:queues:maxDequeueCount"] = $"{MaxDequeueCount}",
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.100",
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(script);
        builder.Services.AddQueueTriggers(typeof(ScriptedFunction));
        return builder.Build();
    }

    private async Task RunUntilAsync(Func<Task<bool>> done)
    {
        using var host = BuildHost();
        await host.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        await host.StopAsync();
    }

    private static async Task<int> CountAsync(QueueClient client) => (await client.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    [Fact]
    public async Task SuccessfulMessage_IsDeleted_AndSeenOnce()
    {
        var seen = new ConcurrentBag<string>();
        script.Run = (message, _) => { seen.Add(message.Body.ToString()); return Task.CompletedTask; };
        await queue.SendMessageAsync("hello");

        await RunUntilAsync(async () => !seen.IsEmpty && await CountAsync(queue) == 0);

        Assert.Equal(["hello"], seen);
        Assert.Equal(0, await CountAsync(queue));
        Assert.Equal(0, await CountAsync(poison));
    }

    [Fact]
    public async Task FailingMessage_IsRetriedMaxDequeueCountTimes_ThenMovedToPoisonWithItsBody()
    {
        var attempts = new ConcurrentBag<long>();
        script.Run = (message, _) => { attempts.Add(message.DequeueCount); throw new InvalidOperationException("boom"); };
        await queue.SendMessageAsync("""{"jobId":"x"}""");

        await RunUntilAsync(async () => await CountAsync(poison) == 1 && await CountAsync(queue) == 0);

        Assert.Equal([1L, 2L, 3L], attempts.Order());
        Assert.Equal(0, await CountAsync(queue));
        var poisoned = Assert.Single((await poison.ReceiveMessagesAsync(1)).Value);
        Assert.Equal("""{"jobId":"x"}""", poisoned.Body.ToString());
    }

    [Fact]
    public async Task MessageThatIsNotBase64_GoesStraightToPoison_WithoutRunningTheFunction()
    {
        var ran = 0;
        script.Run = (_, _) => { Interlocked.Increment(ref ran); return Task.CompletedTask; };
        await Queue(name, QueueMessageEncoding.None).SendMessageAsync("this is not base64!");

        // Copied to poison, then deleted: wait for both.
        await RunUntilAsync(async () => await CountAsync(poison) == 1 && await CountAsync(queue) == 0);

        Assert.Equal(0, ran);
        Assert.Equal(0, await CountAsync(queue));
        Assert.Equal(1, await CountAsync(poison));
    }

    [Fact]
    public async Task ManyMessages_RunConcurrently_UpToBatchSizePlusThreshold()
    {
        var running = 0;
        var peak = 0;
        var finished = 0;
        script.Run = async (_, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Delay(150);
            Interlocked.Decrement(ref running);
            Interlocked.Increment(ref finished);
        };
        for (var i = 0; i < 12; i++)
        {
            await queue.SendMessageAsync($"m{i}");
        }

        await RunUntilAsync(() => Task.FromResult(Volatile.Read(ref finished) == 12));

        Assert.Equal(12, finished);
        Assert.InRange(peak, 2, BatchSize + NewBatchThreshold);
    }

    [Fact]
    public async Task StorageUnreachable_TheListenerKeepsPolling_InsteadOfStoppingTheHost()
    {
        var unreachable = azurite.ConnectionString.Split(';')
            .Select(part => part.StartsWith("QueueEndpoint=", StringComparison.Ordinal) ? "QueueEndpoint=http://127.0.0.1:1/devstoreaccount1" : part);
        using var host = BuildHost(string.Join(';', unreachable));
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();

        await host.StartAsync();
        await Task.Delay(1500); // several failed polls
        var stopping = lifetime.ApplicationStopping.IsCancellationRequested;
        await host.StopAsync();

        Assert.False(stopping, "the queue trigger stopped the host when storage was unreachable");
    }

    /// <summary>
    /// Stopping drains, as the Functions host does: no new message is taken, and a running function (a paid model call)
    /// finishes uncancelled within the shutdown timeout and has its message settled.
    /// </summary>
    [Fact]
    public async Task Shutdown_LetsARunningMessageFinishUncancelled_AndSettlesIt()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelledWhileRunning = false;
        var finished = false;
        script.Run = async (_, cancellationToken) =>
        {
            started.TrySetResult();
            await Task.Delay(1000, CancellationToken.None); // a paid model call that must be recorded
            cancelledWhileRunning = cancellationToken.IsCancellationRequested;
            finished = true;
        };
        await queue.SendMessageAsync("long");
        using var host = BuildHost();
        await host.StartAsync();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        await host.StopAsync();

        Assert.True(finished, "the host stopped before the running function finished");
        Assert.False(cancelledWhileRunning, "the running function was cancelled by the shutdown");
        Assert.Equal(0, await CountAsync(queue));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
