using Functions.Core.Cache;
using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Requests;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.RateLimits;

/// <summary>Per-caller counters against Azurite, with a clock the test moves; two providers on one table are two instances.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class CallerRateLimiterTests(AzuriteFixture azurite)
{
    private readonly FakeTimeProvider clock = CoreServices.Clock("2026-03-10T12:00:00Z");
    private static readonly string[] NoRoles = [];

    private Task<ServiceProvider> StartAsync(string table, params (string Key, string Value)[] settings) =>
        CoreServices.StartAsync(azurite, clock, settings.Append((Key: "RateLimits:Table", Value: table))
            .ToDictionary(setting => setting.Key, setting => (string?)setting.Value));

    [Fact]
    public async Task TenPerMinute_AdmitsTen_ThenRefusesUntilOneFrees_AcrossInstances()
    {
        var table = AzuriteFixture.UniqueName("rates");
        await using var first = await StartAsync(table, ("RateLimits:PerCaller:RequestsPerMinute", "10"));
        await using var second = await StartAsync(table, ("RateLimits:PerCaller:RequestsPerMinute", "10"));
        var limiters = new[] { first.GetRequiredService<CallerRateLimiter>(), second.GetRequiredService<CallerRateLimiter>() };

        var decisions = new List<RateLimitDecision>();
        for (var i = 0; i < 12; i++)
        {
            decisions.Add(await limiters[i % 2].AdmitAsync("alice", NoRoles, 10, CancellationToken.None));
        }
        clock.Advance(TimeSpan.FromSeconds(6));
        var afterSix = await limiters[0].AdmitAsync("alice", NoRoles, 10, CancellationToken.None);
        var bob = await limiters[1].AdmitAsync("bob", NoRoles, 10, CancellationToken.None);

        Assert.Equal(10, decisions.Count(decision => decision.Admitted));
        Assert.All(decisions.Take(10), decision => Assert.True(decision.Admitted));
        var refused = decisions[10].Refusal!;
        Assert.Equal((RateLimitNames.Requests, 10L), (refused.Limit, refused.Quota));
        Assert.Equal(TimeSpan.FromSeconds(6), refused.RetryAfter);
        Assert.Equal(0, Assert.Single(decisions[10].Policies).Remaining);
        Assert.True(afterSix.Admitted);
        Assert.True(bob.Admitted);
        Assert.Equal(9, Assert.Single(bob.Policies).Remaining);
    }

    [Fact]
    public async Task Tokens_AreReservedAtTheWorstCase_AndCorrectedToTheRealUsage_Once()
    {
        await using var services = await StartAsync(AzuriteFixture.UniqueName("rates"), ("RateLimits:PerCaller:TokensPerMinute", "10000"));
        var limiter = services.GetRequiredService<CallerRateLimiter>();
        var job = Job("alice", maxTokens: 5000);
        var worstCase = services.GetRequiredService<WorstCaseTokens>().For(job.Request);

        var admitted = await limiter.AdmitAsync("alice", NoRoles, worstCase, CancellationToken.None);
        var second = await limiter.AdmitAsync("alice", NoRoles, worstCase, CancellationToken.None);
        await limiter.SettleAsync(job with { ModelCalls = 1 }, new TokenUsage(40, 0, 60), CancellationToken.None);
        await limiter.SettleAsync(job with { ModelCalls = 1 }, new TokenUsage(40, 0, 60), CancellationToken.None); // a repeat
        await limiter.ReleaseAsync(job, CancellationToken.None); // after a paid call: nothing to release
        var afterSettle = await limiter.PeekAsync("alice", NoRoles, CancellationToken.None);

        Assert.True(admitted.Admitted);
        Assert.Equal(10_000 - worstCase, Assert.Single(admitted.Policies).Remaining);
        Assert.Equal(RateLimitNames.Tokens, second.Refusal!.Limit);
        Assert.Equal(10_000 - 100, Assert.Single(afterSettle.Policies).Remaining);
    }

    [Fact]
    public async Task AReleasedJob_GivesBackItsWholeReservation_AndALaterPaidCallIsChargedInFull()
    {
        await using var services = await StartAsync(AzuriteFixture.UniqueName("rates"), ("RateLimits:PerCaller:TokensPerMinute", "10000"));
        var limiter = services.GetRequiredService<CallerRateLimiter>();
        var failed = Job("alice", maxTokens: 3000);
        var retried = Job("alice", maxTokens: 3000);
        var worstCase = services.GetRequiredService<WorstCaseTokens>().For(failed.Request);

        await limiter.AdmitAsync("alice", NoRoles, worstCase, CancellationToken.None);
        await limiter.AdmitAsync("alice", NoRoles, worstCase, CancellationToken.None);
        await limiter.ReleaseAsync(failed, CancellationToken.None);
        await limiter.ReleaseAsync(failed, CancellationToken.None);
        await limiter.SettleAsync(retried with { ModelCalls = 1 }, new TokenUsage(100, 0, 0), CancellationToken.None); // broke off mid-stream
        await limiter.SettleAsync(retried with { ModelCalls = 2 }, new TokenUsage(100, 0, 200), CancellationToken.None);

        var status = await limiter.PeekAsync("alice", NoRoles, CancellationToken.None);
        Assert.Equal(10_000 - 100 - 300, Assert.Single(status.Policies).Remaining);
    }

    [Fact]
    public async Task ATooLargeRequest_IsRefusedAsNeverFitting_WithoutWaiting()
    {
        await using var services = await StartAsync(AzuriteFixture.UniqueName("rates"), ("RateLimits:PerCaller:TokensPerMinute", "1000"));

        var decision = await services.GetRequiredService<CallerRateLimiter>().AdmitAsync("alice", NoRoles, 4000, CancellationToken.None);

        Assert.True(decision.Refusal!.NeverFits);
    }

    [Theory]
    [InlineData("a very long caller id")]
    [InlineData("control\u0001\u0007\r\nchars/\\#?|")]
    public async Task OddCallerIds_CannotBreakTheKey(string seed)
    {
        await using var services = await StartAsync(AzuriteFixture.UniqueName("rates"), ("RateLimits:PerCaller:RequestsPerMinute", "1"));
        var limiter = services.GetRequiredService<CallerRateLimiter>();
        var caller = string.Concat(Enumerable.Repeat(seed, 60)); // well past a key's 1 KiB

        var first = await limiter.AdmitAsync(caller, NoRoles, 1, CancellationToken.None);
        var second = await limiter.AdmitAsync(caller, NoRoles, 1, CancellationToken.None);

        Assert.True(first.Admitted);
        Assert.False(second.Admitted);
    }

    [Fact]
    public async Task NoLimitsConfigured_CostsNoStorageAndSetsNoHeaders()
    {
        await using var services = await StartAsync("NoSuchTableEver");

        var decision = await services.GetRequiredService<CallerRateLimiter>().AdmitAsync("alice", NoRoles, 100, CancellationToken.None);
        await services.GetRequiredService<CallerRateLimiter>().SettleAsync(Job("alice", 10), new TokenUsage(1, 0, 1), CancellationToken.None);

        Assert.True(decision.Admitted);
        Assert.Empty(decision.Headers);
    }

    private Job Job(string caller, int maxTokens) =>
        new(JobIds.New(clock), caller, JobStatus.Queued,
            new ChatRequest([new ChatMessage(ChatRoles.User, "hello there")], "gpt-4.1-mini", null, maxTokens), clock.GetUtcNow(),
            Cache: (CacheTicket?)null);
}
