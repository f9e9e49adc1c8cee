using Azure.Data.Tables;
using Functions.Core.Cache;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Cache;

/// <summary>The worker side of the cache, against Azurite with a controlled clock.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SingleFlightTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly CacheOptions Settings = new()
    {
        LeaderLease = TimeSpan.FromMinutes(2),
        FollowerRecheck = TimeSpan.FromSeconds(3),
        DefaultTtl = TimeSpan.FromHours(1),
    };
    private static readonly JobResult Answer = new("Paris.", "gpt-4.1-mini-2025-04-14", "stop", new TokenUsage(20, 0, 3));

    private readonly FakeTimeProvider time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private TableClient table = null!;
    private readonly RecordedSavings savings = new();
    private SingleFlight flights = null!;

    public async Task InitializeAsync()
    {
        var service = new TableServiceClient(azurite.ConnectionString);
        table = service.GetTableClient(AzuriteFixture.UniqueName("cache"));
        await table.CreateAsync();
        var cacheTable = new CacheTable(table, time);
        flights = new SingleFlight(cacheTable, new CacheEntries(cacheTable, Options.Create(Settings), time), savings,
            Options.Create(Settings), time, NullLogger<SingleFlight>.Instance);
    }

    public async Task DisposeAsync()
    {
        await table.DeleteAsync();
    }

    private Job NewJob(string caller = "alice", bool useStored = true) => new(JobIds.New(time), caller, JobStatus.Queued,
        new ChatRequest([new ChatMessage("user", "Capital of France?")], "gpt-4.1-mini", 0, null), time.GetUtcNow(),
        Cache: new CacheTicket(new string('c', 64), Settings.DefaultTtl, useStored));

    [Fact]
    public async Task SecondIdenticalJob_WaitsWhileTheFirstCalls_ThenIsAnsweredWithItsStoredAnswer()
    {
        var leader = NewJob();
        var follower = NewJob(caller: "bob");

        await using (var leading = await flights.JoinAsync(leader, CancellationToken.None))
        {
            Assert.True(leading.IsLeader);
            await using var waiting = await flights.JoinAsync(follower, CancellationToken.None);
            Assert.Equal(Settings.FollowerRecheck, waiting.RecheckAfter);
            Assert.Null(waiting.Answered);

            var stored = await leading.StoreAsync(leader.Succeed(Answer, time.GetUtcNow()), CancellationToken.None);
            Assert.Equal(CacheOutcome.Stored, stored.Cache!.Outcome);
        }

        await using var answered = await flights.JoinAsync(follower, CancellationToken.None);
        Assert.False(answered.IsLeader);
        Assert.Equal(JobStatus.Succeeded, answered.Answered!.Status);
        Assert.Equal(follower.Id, answered.Answered.Id);
        Assert.Equal(Answer, answered.Answered.Result);
        Assert.Equal(CacheOutcome.Collapsed, answered.Answered.Cache!.Outcome);
        var saving = Assert.Single(savings.Hits);
        Assert.Equal("bob", saving.Caller);
        Assert.Equal("gpt-4.1-mini-2025-04-14", saving.Model);
        Assert.Equal(20, saving.Usage.InputTokens);
        Assert.Equal(3, saving.Usage.OutputTokens);
    }

    [Fact]
    public async Task WhenTheLeaderEndsWithoutAStoredAnswer_TheNextJobLeads()
    {
        var leader = NewJob();
        var follower = NewJob();
        await using (var leading = await flights.JoinAsync(leader, CancellationToken.None))
        {
            var incomplete = await leading.StoreAsync(leader.Succeed(Answer with { FinishReason = "length" }, time.GetUtcNow()),
                CancellationToken.None);
            Assert.Equal(CacheOutcome.NotStored, incomplete.Cache!.Outcome);
        }

        await using var next = await flights.JoinAsync(follower, CancellationToken.None);

        Assert.True(next.IsLeader);
        Assert.Null(next.Answered);
    }

    [Fact]
    public async Task WhenTheLeaderDied_FollowersWaitOnlyUntilItsLeaseExpires_ThenOneTakesOver()
    {
        var dead = NewJob();
        var follower = NewJob();
        var another = NewJob();
        _ = await flights.JoinAsync(dead, CancellationToken.None); // Never disposed: the worker died mid-call.

        await using (var early = await flights.JoinAsync(follower, CancellationToken.None))
        {
            Assert.NotNull(early.RecheckAfter);
        }
        time.Advance(Settings.LeaderLease);
        await using var late = await flights.JoinAsync(follower, CancellationToken.None);
        await using var third = await flights.JoinAsync(another, CancellationToken.None);

        Assert.True(late.IsLeader);
        Assert.NotNull(third.RecheckAfter);
    }

    [Fact]
    public async Task RedeliveredLeader_LeadsAgain_AndAnAnswerItStoredEarlierAnswersIt()
    {
        var leader = NewJob();
        _ = await flights.JoinAsync(leader, CancellationToken.None); // Its worker lost the message mid-call.

        await using (var again = await flights.JoinAsync(leader, CancellationToken.None))
        {
            Assert.True(again.IsLeader);
            await again.StoreAsync(leader.Succeed(Answer, time.GetUtcNow()), CancellationToken.None);
        }
        await using var third = await flights.JoinAsync(leader, CancellationToken.None);

        Assert.Equal(CacheOutcome.Stored, third.Answered!.Cache!.Outcome);
        Assert.Empty(savings.Hits);
    }

    [Fact]
    public async Task NoCacheJob_CallsEvenWhenAnAnswerIsStored_AndStoresItsOwn()
    {
        var first = NewJob();
        await using (var leading = await flights.JoinAsync(first, CancellationToken.None))
        {
            await leading.StoreAsync(first.Succeed(Answer, time.GetUtcNow()), CancellationToken.None);
        }
        var fresh = NewJob(useStored: false);

        await using var flight = await flights.JoinAsync(fresh, CancellationToken.None);
        var stored = await flight.StoreAsync(fresh.Succeed(Answer with { Content = "Paris!" }, time.GetUtcNow()), CancellationToken.None);
        await using var later = await flights.JoinAsync(NewJob(), CancellationToken.None);

        Assert.Null(flight.Answered);
        Assert.Null(flight.RecheckAfter);
        Assert.Equal(CacheOutcome.Stored, stored.Cache!.Outcome);
        Assert.Equal("Paris!", later.Answered!.Result!.Content);
    }

    [Fact]
    public async Task JobWithoutTicket_IsLeftAlone()
    {
        var job = NewJob() with { Cache = null };

        await using var flight = await flights.JoinAsync(job, CancellationToken.None);
        var done = await flight.StoreAsync(job.Succeed(Answer, time.GetUtcNow()), CancellationToken.None);

        Assert.False(flight.IsLeader);
        Assert.Null(done.Cache);
        Assert.Empty(await table.QueryAsync<TableEntity>().ToListAsync());
    }
}

/// <summary>The hits a flight reports, kept in memory (pricing them is the spend ledger's job, tested there).</summary>
internal sealed class RecordedSavings : ICacheSavingsRecorder
{
    public System.Collections.Concurrent.ConcurrentQueue<(string Caller, string Model, TokenUsage Usage)> Hits { get; } = new();

    public Task RecordHitAsync(string caller, string model, TokenUsage usage, CancellationToken cancellationToken)
    {
        Hits.Enqueue((caller, model, usage));
        return Task.CompletedTask;
    }
}
