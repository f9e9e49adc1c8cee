using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Jobs;

/// <summary>The sweeper against Azurite, its clock a minute ahead so every job looks long untouched.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class JobSweeperTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task AQueuedJobWhoseMessageIsStillWaiting_IsABacklog_NotALostMessage_AndIsLeftAlone()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1));
        await using var services = await CoreServices.StartAsync(azurite, time);
        var jobs = services.GetRequiredService<JobTable>();
        var queue = services.GetRequiredService<JobQueue>();
        await jobs.Client.CreateIfNotExistsAsync();
        await queue.Client.CreateIfNotExistsAsync();
        var waiting = await jobs.AddAsync(new Job(JobIds.New(TimeProvider.System), "alice", JobStatus.Queued,
            new ChatRequest([new ChatMessage("user", "behind a backlog")], "gpt-4.1-mini", null, null), DateTimeOffset.UtcNow), CancellationToken.None);
        await queue.EnqueueAsync(waiting.Id, CancellationToken.None);

        var requeued = await services.GetRequiredService<JobSweeper>().HandleAsync(CancellationToken.None);

        // Untouched for longer than StaleQueuedAfter by the sweeper's clock, but its message is the one still waiting.
        Assert.Equal(0, requeued);
        Assert.Equal(1, (await queue.Client.GetPropertiesAsync()).Value.ApproximateMessagesCount);

        // Once nothing waits in the queue (the message was taken by an instance that died), the same job is swept.
        var taken = (await queue.Client.ReceiveMessagesAsync(1)).Value;
        Assert.Single(taken);
        Assert.Equal(1, await services.GetRequiredService<JobSweeper>().HandleAsync(CancellationToken.None));
    }
}
