using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Jobs;
using Functions.Local.Timers;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Functions.Tests.Cache;

/// <summary>
/// The cache through HTTP: the real local host against Azurite and the loopback model, including concurrent identical
/// requests through the queue (single flight).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ResponseCacheHttpTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    protected override bool StartsHost => true;

    private static object Deterministic(string content) => new { messages = new[] { new { role = "user", content } }, temperature = 0 };

    private static async Task<HttpResponseMessage> SubmitAsync(TestHost host, object body, string caller = "alice", string? cacheControl = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(body) };
        request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }
        return await host.Client.SendAsync(request);
    }

    /// <summary>Submits, expects 202 with <paramref name="cacheStatus"/>, waits for the job; returns it as GET shows it.</summary>
    private async Task<(JsonElement Job, string? CacheStatus)> RunToEndAsync(object body, string cacheStatus, string caller = "alice",
        string? cacheControl = null)
    {
        using var accepted = await SubmitAsync(Host, body, caller, cacheControl);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(cacheStatus, CacheStatusOf(accepted));
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var job = await Host.WaitForTerminalAsync(id, caller);
        using var get = await Host.GetAsync(id, caller);
        return (job, CacheStatusOf(get));
    }

    private static string? CacheStatusOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues(CacheStatus.HeaderName, out var values) ? string.Join(", ", values) : null;

    private Task<int> RowCountAsync(TableClient table) => table.QueryAsync<TableEntity>().CountAsync().AsTask();

    private Task<int> JobCountAsync() => RowCountAsync(Host.App.Services.GetRequiredService<JobTable>().Client);

    [Fact]
    public async Task Deterministic_SecondSubmit_IsAnswered200FromTheCache_WithNoJobNoQueueMessageAndNoModelCall()
    {
        Model.Enqueue(FakeReply.Completion("Paris.", promptTokens: 21, completionTokens: 3, cachedTokens: 5, model: "gpt-4.1-mini-2025-04-14"));
        var (first, firstStatus) = await RunToEndAsync(Deterministic("Capital of France?"), "ChatBackend; fwd=miss");
        Assert.Equal("ChatBackend; fwd=miss; stored", firstStatus);

        using var hit = await SubmitAsync(Host, new { temperature = 0.0, messages = new[] { new { content = "Capital of France?", role = "user" } } });

        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Matches(@"^ChatBackend; hit; ttl=\d+$", CacheStatusOf(hit));
        Assert.NotNull(hit.Headers.Age);
        var view = await hit.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(first.GetRawText(), view.GetRawText());
        Assert.Equal("Succeeded", view.GetProperty("status").GetString());
        Assert.Equal("Paris.", view.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal(21, view.GetProperty("result").GetProperty("usage").GetProperty("inputTokens").GetInt32());
        // 16 uncached input tokens at $0.40/M, 5 cached at $0.10/M and 3 output at $1.60/M: 11.7 micro-dollars, rounded up.
        Assert.Equal(0.000012m, view.GetProperty("result").GetProperty("costUsd").GetDecimal());
        Assert.Single(Model.Calls);
        Assert.Equal(1, await JobCountAsync());
        Assert.Empty((await Host.App.Services.GetRequiredService<JobQueue>().Client.PeekMessagesAsync(32)).Value);

        // Savings are written off the response path, in batches (Cache:SavingsFlushInterval, 50 ms in tests).
        List<Core.Spend.LedgerEntry> ledger = [];
        for (var wait = 0; wait < 100 && !ledger.Any(entry => entry.Kind == Core.Spend.LedgerEntry.Saving); wait++)
        {
            await Task.Delay(50);
            ledger = await Host.App.Services.GetRequiredService<Core.Spend.SpendLedger>()
                .ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None).ToListAsync();
        }
        var saving = Assert.Single(ledger, entry => entry.Kind == Core.Spend.LedgerEntry.Saving);
        Assert.Equal("alice", saving.Caller);
        Assert.Equal("gpt-4.1-mini-2025-04-14", saving.Model);
        Assert.Equal(new TokenUsage(21, 5, 3), saving.Usage);
        Assert.True(saving.CostMicros > 0, "the saving is priced");
    }

    [Fact]
    public void LocalHost_RunsTheSweepTimer_AsTheFunctionsAppDoes()
    {
        Assert.Contains("SweepCache", Host.App.Services.GetServices<IHostedService>().OfType<CronTimer>().Select(timer => timer.FunctionName));
    }

    [Fact]
    public async Task NotDeterministic_IsNotCached_UnlessItOptsInWithMaxAge()
    {
        var creative = new { messages = new[] { new { role = "user", content = "A poem" } }, temperature = 0.7 };

        await RunToEndAsync(creative, "ChatBackend; fwd=bypass");
        await RunToEndAsync(creative, "ChatBackend; fwd=bypass");
        await RunToEndAsync(creative, "ChatBackend; fwd=miss", cacheControl: "max-age=600");
        using var hit = await SubmitAsync(Host, creative, cacheControl: "max-age=600");

        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Matches(@"^ChatBackend; hit; ttl=(59\d|600)$", CacheStatusOf(hit));
        Assert.Equal(3, Model.Calls.Count);
    }

    [Fact]
    public async Task NoCache_CallsTheModelAgain_AndStoresTheNewAnswerForTheNextRequest()
    {
        Model.Enqueue(FakeReply.Completion("first"), FakeReply.Completion("second"));
        await RunToEndAsync(Deterministic("hi"), "ChatBackend; fwd=miss");

        var (fresh, status) = await RunToEndAsync(Deterministic("hi"), "ChatBackend; fwd=request", cacheControl: "no-cache");
        using var hit = await SubmitAsync(Host, Deterministic("hi"));

        Assert.Equal("second", fresh.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal("ChatBackend; fwd=request; stored", status);
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal(fresh.GetRawText(), (await hit.Content.ReadFromJsonAsync<JsonElement>()).GetRawText());
        Assert.Equal(2, Model.Calls.Count);
    }

    [Fact]
    public async Task NoStore_NeitherReadsNorWrites()
    {
        Model.Enqueue(FakeReply.Completion("stored"), FakeReply.Completion("private"));
        await RunToEndAsync(Deterministic("hi"), "ChatBackend; fwd=miss");

        var (bypassed, status) = await RunToEndAsync(Deterministic("hi"), "ChatBackend; fwd=bypass", cacheControl: "no-store");
        using var hit = await SubmitAsync(Host, Deterministic("hi"));

        Assert.Equal("private", bypassed.GetProperty("result").GetProperty("content").GetString());
        Assert.Null(status);
        Assert.Equal("stored", (await hit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetProperty("content").GetString());
    }

    [Fact]
    public async Task CallerScope_AnotherCallersIdenticalRequest_IsNotServedTheFirstCallersAnswer()
    {
        Model.Enqueue(FakeReply.Completion("for alice"), FakeReply.Completion("for bob"));
        await RunToEndAsync(Deterministic("hi"), "ChatBackend; fwd=miss", caller: "alice");

        var (bobs, _) = await RunToEndAsync(Deterministic("hi"), "ChatBackend; fwd=miss", caller: "bob");

        Assert.Equal("for bob", bobs.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal(2, Model.Calls.Count);
    }

    [Fact]
    public async Task SharedScope_AnotherCaller_IsServedWithAJobOfItsOwn_ThatOnlyItCanRead()
    {
        var shared = await StartHostAsync(new Dictionary<string, string?> { ["Cache:Scope"] = "shared" });
        Model.Enqueue(FakeReply.Completion("shared answer"));
        using var accepted = await SubmitAsync(shared, Deterministic("FAQ: opening hours?"), caller: "alice");
        var alicesId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await shared.WaitForTerminalAsync(alicesId, "alice");

        using var hit = await SubmitAsync(shared, Deterministic("FAQ: opening hours?"), caller: "bob");
        var bobsView = await hit.Content.ReadFromJsonAsync<JsonElement>();
        var bobsId = bobsView.GetProperty("id").GetString()!;
        using var bobReadsHisOwn = await shared.GetAsync(bobsId, "bob");
        using var bobReadsAlices = await shared.GetAsync(alicesId, "bob");
        using var aliceReadsBobs = await shared.GetAsync(bobsId, "alice");

        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.NotEqual(alicesId, bobsId);
        Assert.Equal("shared answer", bobsView.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal(HttpStatusCode.OK, bobReadsHisOwn.StatusCode);
        Assert.Equal(bobsView.GetRawText(), (await bobReadsHisOwn.Content.ReadFromJsonAsync<JsonElement>()).GetRawText());
        Assert.Equal("ChatBackend; hit", CacheStatusOf(bobReadsHisOwn));
        Assert.Equal(HttpStatusCode.NotFound, bobReadsAlices.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, aliceReadsBobs.StatusCode);
        Assert.Single(Model.Calls);
    }

    [Theory]
    [InlineData("length")]
    [InlineData("content_filter")]
    public async Task IncompleteAnswer_IsNotCached(string finishReason)
    {
        Model.Enqueue(FakeReply.Completion("Paris is the cap", finishReason: finishReason));
        var (_, status) = await RunToEndAsync(Deterministic("hi"), "ChatBackend; fwd=miss");

        await RunToEndAsync(Deterministic("hi"), "ChatBackend; fwd=miss");

        Assert.Equal("ChatBackend; fwd=miss", status);
        Assert.Equal(2, Model.Calls.Count);
    }

    [Fact]
    public async Task AnswerOver64KiB_IsCached_AndServedWhole()
    {
        var content = string.Concat(Enumerable.Range(0, 3000).Select(i => $"Line {i}: ünïcödé 😀 text. "));
        Assert.True(content.Length * 2 > 64 * 1024);
        Model.Enqueue(FakeReply.Completion(content));
        await RunToEndAsync(Deterministic("long"), "ChatBackend; fwd=miss");

        using var hit = await SubmitAsync(Host, Deterministic("long"));

        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal(content, (await hit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetProperty("content").GetString());
        Assert.Single(Model.Calls);
    }

    [Fact]
    public async Task AnswerOver1MiB_JobSucceeds_ButIsNotCached()
    {
        var content = new string('x', 1024 * 1024 + 1);
        Model.Enqueue(FakeReply.Completion(content));

        var (job, status) = await RunToEndAsync(Deterministic("huge"), "ChatBackend; fwd=miss");
        await RunToEndAsync(Deterministic("huge"), "ChatBackend; fwd=miss");

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal(content.Length, job.GetProperty("result").GetProperty("content").GetString()!.Length);
        Assert.Equal("ChatBackend; fwd=miss", status);
        Assert.Equal(2, Model.Calls.Count);
    }

    /// <summary>Submits <paramref name="count"/> identical requests at once; returns every job as it ended (a hit is already ended).</summary>
    private async Task<JsonElement[]> SubmitConcurrentlyAsync(int count, string prompt) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            using var response = await SubmitAsync(Host, Deterministic(prompt));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return response.StatusCode == HttpStatusCode.OK
                ? body
                : await Host.WaitForTerminalAsync(body.GetProperty("id").GetString()!, "alice", TimeSpan.FromSeconds(60));
        }));

    [Fact]
    public async Task TwentyConcurrentIdenticalMisses_MakeOneModelCall_AndAllSucceedWithItsAnswer()
    {
        // Each call would answer differently, and slowly enough for all twenty to overlap it, even on a loaded machine
        // (a submit arriving after the answer was stored is a hit on the leader's job, not a twenty-first id).
        Model.Enqueue(Enumerable.Range(0, 20).Select(i => FakeReply.Completion($"answer {i}") with { Delay = TimeSpan.FromSeconds(2) })
            .ToArray());

        var jobs = await SubmitConcurrentlyAsync(20, "FAQ: what are your opening hours?");

        Assert.Single(Model.Calls);
        Assert.All(jobs, job => Assert.Equal("Succeeded", job.GetProperty("status").GetString()));
        Assert.All(jobs, job => Assert.Equal("answer 0", job.GetProperty("result").GetProperty("content").GetString()));
        // Each submit has its own job, except one that arrives after the answer was stored (a slow machine): that one is
        // a cache hit, answered with the job that made the call.
        var ids = jobs.Select(job => job.GetProperty("id").GetString()).ToList();
        Assert.True(ids.Distinct().Count() >= 15, $"only {ids.Distinct().Count()} of the twenty submits got a job of their own");
    }

    [Fact]
    public async Task LeaderFails_FollowersFallBackToTheirOwnCall_AndNoneIsLeftWaiting()
    {
        Model.Enqueue(FakeReply.Error(400, "invalid_request_error") with { Delay = TimeSpan.FromMilliseconds(500) });
        Model.Enqueue(Enumerable.Range(1, 5).Select(i => FakeReply.Completion($"answer {i}") with { Delay = TimeSpan.FromMilliseconds(300) })
            .ToArray());

        var jobs = await SubmitConcurrentlyAsync(5, "Summarise our refund policy.");

        Assert.Equal(2, Model.Calls.Count);
        Assert.Single(jobs, job => job.GetProperty("status").GetString() == "Failed");
        var succeeded = jobs.Where(job => job.GetProperty("status").GetString() == "Succeeded").ToList();
        Assert.Equal(4, succeeded.Count);
        Assert.All(succeeded, job => Assert.Equal("answer 1", job.GetProperty("result").GetProperty("content").GetString()));
    }
}
