using System.Collections.Concurrent;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Functions.Local.Queues;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Functions.Tests.Local;

/// <summary>The local queue trigger keeps the Functions host's contract: retries, poison queue, encoding, deletion.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class QueueListenerTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly string name = AzuriteFixture.UniqueName("listen");
    private QueueClient queue = null!;
    private QueueClient poison = null!;
    private QueueClient rawQueue = null!;

    public async Task InitializeAsync()
    {
        (queue, poison) = QueueListener.CreateClients(options => new QueueServiceClient(azurite.ConnectionString, options), name, Options);
        rawQueue = new QueueClient(azurite.ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        await queue.CreateIfNotExistsAsync();
        await poison.CreateIfNotExistsAsync();
    }

    public Task DisposeAsync() => Task.WhenAll(queue.DeleteIfExistsAsync(), poison.DeleteIfExistsAsync());

    private static readonly QueueTriggerOptions Options = new()
    {
        BatchSize = 4, NewBatchThreshold = 2, MaxDequeueCount = 3,
        VisibilityTimeout = TimeSpan.Zero, MaxPollingInterval = TimeSpan.FromMilliseconds(100),
    };

    private async Task RunListenerUntilAsync(Func<QueueMessage, Task> function, Func<Task<bool>> done)
    {
        using var listener = new QueueListener("Test", queue, poison, Options, (message, _) => function(message),
            TimeProvider.System, NullLogger<QueueListener>.Instance);
        await listener.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        await listener.StopAsync(CancellationToken.None);
    }

    private async Task<int> CountAsync(QueueClient client) => (await client.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    [Fact]
    public async Task SuccessfulMessage_IsDeleted_AndSeenOnce()
    {
        var seen = new ConcurrentBag<string>();
        await queue.SendMessageAsync("hello");

        await RunListenerUntilAsync(message => { seen.Add(message.Body.ToString()); return Task.CompletedTask; },
            async () => !seen.IsEmpty && await CountAsync(queue) == 0);

        Assert.Equal(["hello"], seen);
        Assert.Equal(0, await CountAsync(queue));
        Assert.Equal(0, await CountAsync(poison));
    }

    [Fact]
    public async Task FailingMessage_IsRetriedMaxDequeueCountTimes_ThenMovedToPoisonWithItsBody()
    {
        var attempts = new ConcurrentBag<long>();
        await queue.SendMessageAsync("""{"jobId":"x"}""");

        await RunListenerUntilAsync(message => { attempts.Add(message.DequeueCount); throw new InvalidOperationException("boom"); },
            async () => await CountAsync(poison) == 1);

        Assert.Equal([1L, 2L, 3L], attempts.Order());
        Assert.Equal(0, await CountAsync(queue));
        var poisoned = Assert.Single((await poison.ReceiveMessagesAsync(1)).Value);
        Assert.Equal("""{"jobId":"x"}""", poisoned.Body.ToString());
    }

    [Fact]
    public async Task MessageThatIsNotBase64_GoesStraightToPoison_WithoutRunningTheFunction()
    {
        var ran = 0;
        await rawQueue.SendMessageAsync("this is not base64!");

        await RunListenerUntilAsync(_ => { Interlocked.Increment(ref ran); return Task.CompletedTask; },
            async () => await CountAsync(poison) == 1);

        Assert.Equal(0, ran);
        Assert.Equal(0, await CountAsync(queue));
    }

    [Fact]
    public async Task ManyMessages_RunConcurrently_UpToBatchSizePlusThreshold()
    {
        var running = 0;
        var peak = 0;
        var finished = 0;
        for (var i = 0; i < 12; i++)
        {
            await queue.SendMessageAsync($"m{i}");
        }

        await RunListenerUntilAsync(async _ =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Delay(150);
            Interlocked.Decrement(ref running);
            Interlocked.Increment(ref finished);
        }, () => Task.FromResult(Volatile.Read(ref finished) == 12));

        Assert.Equal(12, finished);
        Assert.InRange(peak, 2, Options.BatchSize + Options.NewBatchThreshold);
    }

    [Fact]
    public async Task StorageUnreachable_TheListenerBacksOffAndKeepsPolling_InsteadOfStoppingTheHost()
    {
        // One retry: when Azure.Core's retries run out it throws AggregateException, which once stopped the listener.
        var unreachable = new QueueClientOptions { Retry = { MaxRetries = 1, Delay = TimeSpan.FromMilliseconds(10), NetworkTimeout = TimeSpan.FromSeconds(1) } };
        var (deadQueue, deadPoison) = QueueListener.CreateClients(
            _ => new QueueServiceClient(new Uri("http://127.0.0.1:1/devstoreaccount1"), unreachable), name, Options);
        using var listener = new QueueListener("Test", deadQueue, deadPoison, Options, (_, _) => Task.CompletedTask,
            TimeProvider.System, NullLogger<QueueListener>.Instance);

        await listener.StartAsync(CancellationToken.None);
        await Task.Delay(1500); // several failed polls
        var stillRunning = listener.ExecuteTask is { IsCompleted: false };
        await listener.StopAsync(CancellationToken.None);

        Assert.True(stillRunning, $"the listener stopped: {listener.ExecuteTask?.Exception?.InnerException?.GetType().Name}");
        Assert.False(listener.ExecuteTask!.IsFaulted);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
