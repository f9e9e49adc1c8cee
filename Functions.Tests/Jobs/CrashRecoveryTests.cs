using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Jobs;

/// <summary>
/// Recovery from a dead instance in seconds: a short lease renewed while the model call runs, and the SweepJobs timer
/// that re-queues what a dead instance left behind. Through the real host; the soak with a real SIGKILL is
/// benchmarks/Crash.Benchmarks.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class CrashRecoveryTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    protected override bool StartsHost => true;

    protected override IReadOnlyDictionary<string, string?>? HostSettings => FastRecovery;

    /// <summary>A 3 s lease renewed every half second, a sweep every second: the defaults (30 s, 10 s, 15 s) scaled down.</summary>
    private static readonly Dictionary<string, string?> FastRecovery = new()
    {
        ["Resilience:ProcessingLease"] = "00:00:03",
        ["Resilience:LeaseHeartbeat"] = "00:00:00.500",
        ["Resilience:LongWaitThreshold"] = "00:00:01",
        ["Resilience:StaleQueuedAfter"] = "00:00:01",
        ["Resilience:JobSweepSchedule"] = "* * * * * *",
    };

    [Theory]
    [InlineData(JobStatus.Running)] // its worker died mid-call: the lease lapses, nobody renews it
    [InlineData(JobStatus.Queued)]  // its message was dequeued by an instance that then died: invisible for minutes
    public async Task JobAbandonedByADeadInstance_IsSweptBackOnTheQueue_AndFinishesWithOneMoreCall(JobStatus left)
    {
        var now = DateTimeOffset.UtcNow;
        var request = new ChatRequest([new ChatMessage("user", "left behind")], "gpt-4.1-mini", null, null);
        var job = await Host.Service<JobTable>().AddAsync(new Job(JobIds.New(TimeProvider.System), "anonymous", left, request, now,
            StartedAt: now, ModelCalls: left == JobStatus.Running ? 1 : 0, LeaseUntil: left == JobStatus.Running ? now - TimeSpan.FromSeconds(5) : null),
            CancellationToken.None);

        var finished = await Host.WaitForTerminalAsync(job.Id, timeout: TimeSpan.FromSeconds(20));

        Assert.Equal("Succeeded", finished.GetProperty("status").GetString());
        Assert.Single(Model.Calls);
    }

    [Fact]
    public async Task ModelCallLongerThanTheLease_KeepsItsLeaseByHeartbeat_AndIsNotTakenOver()
    {
        // 5 s of model time against a 3 s lease, with the sweeper looking every second.
        Model.Enqueue(FakeReply.Completion("slow but alive") with { Delay = TimeSpan.FromSeconds(5) });

        var job = await Host.WaitForTerminalAsync(await Host.SubmitAcceptedAsync(TestHost.UserMessage("long call")), timeout: TimeSpan.FromSeconds(30));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal("slow but alive", job.GetProperty("result").GetProperty("content").GetString());
        Assert.Single(Model.Calls);
        Assert.Single(await LedgerAsync());
    }

    [Fact]
    public async Task WorkerThatLostItsLease_StopsItsCall_AndRecordsNothing()
    {
        Model.Enqueue(FakeReply.Completion("never recorded") with { Delay = TimeSpan.FromSeconds(10) });
        var id = await Host.SubmitAcceptedAsync(TestHost.UserMessage("taken over"));
        await WaitUntilAsync(() => Model.Calls.Count == 1);

        // Another worker takes the job over (as after a lapsed lease): the row changes under the first worker.
        var jobs = Host.Service<JobTable>();
        var running = (await jobs.GetAsync(id, CancellationToken.None))!;
        var takenOver = await jobs.UpdateAsync(running with { ModelCalls = running.ModelCalls + 1, LeaseUntil = DateTimeOffset.UtcNow.AddMinutes(5) },
            CancellationToken.None);
        await WaitUntilAsync(() => Model.Calls.Single().Aborted.Task.IsCompleted);

        Assert.Empty(await LedgerAsync());
        var now = (await jobs.GetAsync(id, CancellationToken.None))!;
        Assert.Equal(takenOver.ETag, now.ETag); // the first worker wrote nothing after losing the lease
    }

    private async Task<List<LedgerEntry>> LedgerAsync()
    {
        var entries = new List<LedgerEntry>();
        await foreach (var entry in Host.Service<SpendLedger>().ReadDayAsync(SpendKeys.DayOf(DateTimeOffset.UtcNow), CancellationToken.None))
        {
            entries.Add(entry);
        }
        return entries;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }
        Assert.True(condition(), "the condition did not hold within 10 s");
    }
}
