using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Jobs.Streams;

/// <summary><c>GET /api/chat/{id}/stream</c> through the real local host, Azurite and the scripted fake model.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class JobStreamHttpTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly TimeSpan ChunkDelay = TimeSpan.FromMilliseconds(20);
    private FakeOpenAIServer model = null!;

    public async Task InitializeAsync() => model = await FakeOpenAIServer.StartAsync();

    public async Task DisposeAsync() => await model.DisposeAsync();

    private Task<TestHost> StartAsync(Dictionary<string, string?>? settings = null) => TestHost.StartAsync(azurite, model.BaseUrl, settings);

    private static string Words(int count, string prefix = "word") => string.Join(' ', Enumerable.Range(1, count).Select(i => $"{prefix}{i}"));

    private static FakeReply Streamed(string content) => FakeReply.Completion(content) with { ChunkDelay = ChunkDelay };

    private static async Task<(string Id, JsonElement Accepted, HttpResponseMessage Response)> SubmitAsync(TestHost host, object body,
        string caller = "alice")
    {
        var response = await host.SubmitAsync(body, caller);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (accepted.GetProperty("id").GetString()!, accepted, response);
    }

    private static async Task<string> GetBodyAsync(TestHost host, string id, string caller = "alice")
    {
        using var response = await host.GetAsync(id, caller);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Stream_SendsStatus_ThenEveryDeltaAsTheWorkerGotIt_WithIdsUpByOne_ThenDoneWithGetsBody()
    {
        var content = Words(30);
        model.Enqueue(Streamed(content));
        await using var host = await StartAsync();

        var (id, accepted, submitted) = await SubmitAsync(host, TestHost.UserMessage("stream me"));
        using (submitted)
        {
            Assert.Equal($"/api/chat/{id}", submitted.Headers.Location?.OriginalString);
            Assert.Equal($"/api/chat/{id}", accepted.GetProperty("statusUrl").GetString());
        }
        var streamUrl = accepted.GetProperty("streamUrl").GetString()!;
        Assert.StartsWith($"/api/chat/{id}/stream?token=", streamUrl);

        // No caller header: the URL's token is the credential, as for a browser's EventSource.
        using var stream = await host.OpenStreamAsync(streamUrl);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        var events = await stream.ReadToEndAsync();

        var first = events[0];
        Assert.Equal("status", first.Event);
        Assert.Contains(first.Json.GetProperty("status").GetString(), new[] { "Queued", "Running" });
        Assert.NotNull(first.RetryMs);
        Assert.Null(first.Id);
        var deltas = events.Deltas().ToList();
        Assert.Equal(30, deltas.Count); // one event per delta the model sent (a word a chunk)
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), deltas.Select(delta => delta.DeltaId));
        Assert.Equal(content, events.Text());
        Assert.Equal("done", events[^1].Event);
        Assert.Equal(await GetBodyAsync(host, id), events[^1].Data);
        Assert.Equal(content, events[^1].Json.GetProperty("result").GetProperty("content").GetString());
        Assert.Single(model.Calls);
    }

    [Fact]
    public async Task Reconnect_WithLastEventId_ResumesAfterThatDelta_WithNoGapAndNoRepeat()
    {
        var content = Words(40);
        model.Enqueue(Streamed(content));
        await using var host = await StartAsync();
        var (id, accepted, submitted) = await SubmitAsync(host, TestHost.UserMessage("resume me"));
        submitted.Dispose();
        var streamUrl = accepted.GetProperty("streamUrl").GetString()!;

        // Arrange: the connection drops after ten deltas, mid-answer.
        var before = new List<StreamEvent>();
        using (var stream = await host.OpenStreamAsync(streamUrl))
        {
            await foreach (var message in stream.EventsAsync())
            {
                before.Add(message);
                if (before.Deltas().Count() == 10)
                {
                    break;
                }
            }
        }

        // Act: what EventSource does by itself, and what a new EventSource can do with the query parameter.
        using var resumed = await host.OpenStreamAsync(streamUrl, lastEventId: before.Deltas().Last().Id);
        var after = await resumed.ReadToEndAsync();
        using var again = await host.OpenStreamAsync(streamUrl + "&lastEventId=25");
        var late = await again.ReadToEndAsync();

        // Assert
        var ids = before.Concat(after).Deltas().Select(delta => delta.DeltaId).ToList();
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), ids);
        Assert.Equal(content, before.Text() + after.Text());
        Assert.Equal("done", after[^1].Event);
        Assert.Equal(Enumerable.Range(26, 15).Select(i => (long)i), late.Deltas().Select(delta => delta.DeltaId));
        Assert.Equal(content, string.Concat(ChatCompletionPieces(content).Take(25)) + late.Text());
        Assert.Equal(await GetBodyAsync(host, id), late[^1].Data);
    }

    /// <summary>How the fake streams an answer: each word with the space before it.</summary>
    private static IEnumerable<string> ChatCompletionPieces(string content) => Functions.Local.Development.ChatCompletionStream.Pieces(content);

    [Fact]
    public async Task AfterTheJobFinished_TheWholeAnswerAndDoneComeAtOnce_AndAMalformedLastEventIdCountsAsNone()
    {
        var content = Words(12);
        model.Enqueue(Streamed(content));
        await using var host = await StartAsync();
        var (id, accepted, submitted) = await SubmitAsync(host, TestHost.UserMessage("finished first"));
        submitted.Dispose();
        await host.WaitForTerminalAsync(id, "alice");

        using var stream = await host.OpenStreamAsync(accepted.GetProperty("streamUrl").GetString()!, lastEventId: "seven");
        var events = await stream.ReadToEndAsync();

        Assert.DoesNotContain(events, e => e.Event == "status");
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), events.Deltas().Select(delta => delta.DeltaId));
        Assert.Equal(content, events.Text());
        Assert.Equal("done", events[^1].Event);
        Assert.Equal(await GetBodyAsync(host, id), events[^1].Data);
    }

    [Fact]
    public async Task TwoWorkerHosts_StreamServedByAThird_EqualsEachJobsAnswer()
    {
        model.Responder = request =>
        {
            var prompt = request.GetProperty("messages")[0].GetProperty("content").GetString()!;
            return Streamed($"{prompt} answered in {Words(15, "piece")}");
        };
        var shared = new Dictionary<string, string?>
        {
            ["Storage:ChatQueue"] = AzuriteFixture.UniqueName("streamq"),
            ["Storage:JobsTable"] = AzuriteFixture.UniqueName("streamjobs"),
            ["Storage:GateTable"] = AzuriteFixture.UniqueName("streamgate"),
            ["JobStreams:Table"] = AzuriteFixture.UniqueName("streams"),
            ["JobStreams:SigningKey"] = "a-signing-key-that-every-instance-shares-0123456789",
        };
        await using var first = await StartAsync(shared);
        await using var second = await StartAsync(shared);
        // The third reads the same tables and key but listens to a queue nobody sends to: it only serves streams.
        await using var reader = await StartAsync(new Dictionary<string, string?>(shared) { ["Storage:ChatQueue"] = AzuriteFixture.UniqueName("idle") });

        var jobs = new List<(string Id, string StreamUrl)>();
        for (var i = 0; i < 4; i++)
        {
            var (id, accepted, submitted) = await SubmitAsync(i % 2 == 0 ? first : second, TestHost.UserMessage($"job{i}"));
            submitted.Dispose();
            jobs.Add((id, accepted.GetProperty("streamUrl").GetString()!));
        }
        var streams = await Task.WhenAll(jobs.Select(async job =>
        {
            using var stream = await reader.OpenStreamAsync(job.StreamUrl);
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            return (job.Id, Events: await stream.ReadToEndAsync());
        }));

        foreach (var (id, events) in streams)
        {
            var done = events[^1];
            Assert.Equal("done", done.Event);
            Assert.Equal(done.Json.GetProperty("result").GetProperty("content").GetString(), events.Text());
            Assert.StartsWith("job", events.Text());
            Assert.Equal(await GetBodyAsync(reader, id), done.Data);
        }
        Assert.Equal(4, model.Calls.Count);
    }

    [Fact]
    public async Task RetriedAttempt_ShowsRestart_TheTextAfterItIsTheAnswer_AndTheBrokenCallIsChargedOnce()
    {
        var broken = "this first attempt breaks off after five words of its answer";
        var content = Words(20, "retry");
        model.Enqueue(Streamed(broken) with { CutAfterChunks = 5 }, Streamed(content));
        await using var host = await StartAsync();
        var (id, accepted, submitted) = await SubmitAsync(host, TestHost.UserMessage("retry me"));
        submitted.Dispose();

        using var stream = await host.OpenStreamAsync(accepted.GetProperty("streamUrl").GetString()!);
        var events = await stream.ReadToEndAsync();

        var restart = events.FindIndex(e => e.Event == "restart");
        Assert.True(restart > 0, "the stream says the text restarts");
        Assert.Equal(2, events[restart].Json.GetProperty("attempt").GetInt32());
        Assert.Equal(string.Concat(ChatCompletionPieces(broken).Take(5)), events.Take(restart).Text());
        Assert.Equal(content, events.Shown());
        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), events.Deltas().Select(delta => delta.DeltaId));
        Assert.Equal("done", events[^1].Event);
        Assert.Equal(content, events[^1].Json.GetProperty("result").GetProperty("content").GetString());

        // Both calls were paid for, each recorded once: the broken one from its text (estimated), the answer from its usage.
        var calls = new List<LedgerEntry>();
        await foreach (var entry in host.Service<SpendLedger>().ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None))
        {
            if (entry.Kind == LedgerEntry.Call && entry.JobId == id)
            {
                calls.Add(entry);
            }
        }
        Assert.Equal(2, calls.Count);
        Assert.True(calls.Single(call => call.Usage.Estimated).Usage.OutputTokens > 0);
        Assert.Equal(new Core.Jobs.TokenUsage(11, 0, 7), calls.Single(call => !call.Usage.Estimated).Usage);
    }

    [Fact]
    public async Task CachedAnswers_Stream_AHitAndACollapsedFollower_AsDeltasThenDone()
    {
        var content = Words(100, "cached");
        model.Enqueue(Streamed(content));
        await using var host = await StartAsync(new() { ["Cache:Scope"] = "shared" });
        var request = new { messages = new[] { new { role = "user", content = "Opening hours?" } }, temperature = 0 };
        var (original, _, submitted) = await SubmitAsync(host, request);
        submitted.Dispose();
        await host.WaitForTerminalAsync(original, "alice");

        // A hit at submit: bob's own finished job, never streamed by a worker.
        using var hit = await host.SubmitAsync(request, "bob");
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        var hitId = (await hit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.NotEqual(original, hitId);
        using var hitStream = await host.OpenStreamAsync($"/api/chat/{hitId}/stream", caller: "bob");
        var hitEvents = await hitStream.ReadToEndAsync();

        // A follower: the same request queued (an Idempotency-Key skips the submit-time hit), answered by the worker's single flight.
        var follower = await host.SubmitAcceptedAsync(request, "carol", idempotencyKey: Guid.NewGuid().ToString());
        using var followerStream = await host.OpenStreamAsync($"/api/chat/{follower}/stream", caller: "carol");
        var followerEvents = await followerStream.ReadToEndAsync();

        foreach (var (id, caller, events) in new[] { (hitId, "bob", hitEvents), (follower, "carol", followerEvents) })
        {
            Assert.True(events.Deltas().Count() > 1, "the stored answer comes as deltas");
            Assert.Equal(content, events.Text());
            Assert.Equal("done", events[^1].Event);
            Assert.Equal(await GetBodyAsync(host, id, caller), events[^1].Data);
        }
        Assert.Single(model.Calls);
    }

    [Fact]
    public async Task AnotherCallersOrAnUnknownJob_Is404_AndAnExpiredTamperedOrForeignToken_Is401Problem()
    {
        await using var host = await StartAsync();
        var (id, accepted, submitted) = await SubmitAsync(host, TestHost.UserMessage("mine"));
        submitted.Dispose();
        var (otherId, _, other) = await SubmitAsync(host, TestHost.UserMessage("also mine"));
        other.Dispose();
        var token = accepted.GetProperty("streamUrl").GetString()!.Split("token=")[1];
        var tampered = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];

        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["bob"] = await host.OpenStreamAsync($"/api/chat/{id}/stream", caller: "bob"),
            ["unknown"] = await host.OpenStreamAsync($"/api/chat/{Guid.CreateVersion7():N}/stream", caller: "alice"),
            ["not an id"] = await host.OpenStreamAsync("/api/chat/nope/stream", caller: "alice"),
            ["tampered"] = await host.OpenStreamAsync($"/api/chat/{id}/stream?token={tampered}"),
            ["other job"] = await host.OpenStreamAsync($"/api/chat/{otherId}/stream?token={token}"),
            ["malformed"] = await host.OpenStreamAsync($"/api/chat/{id}/stream?token=abc"),
            ["expired"] = await host.OpenStreamAsync($"/api/chat/{id}/stream?token=1.{token.Split('.')[1]}"),
        };

        foreach (var (name, response) in answers)
        {
            using (response)
            {
                var expected = name is "bob" or "unknown" or "not an id" ? HttpStatusCode.NotFound : HttpStatusCode.Unauthorized;
                Assert.True(response.StatusCode == expected, $"{name}: {response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
                if (expected == HttpStatusCode.Unauthorized)
                {
                    Assert.Equal("stream_token_invalid", problem.GetProperty("code").GetString());
                }
            }
        }
    }

    [Fact]
    public async Task MoreOpenStreamsThanAllowed_Is429WithRetryAfter_UntilOneCloses()
    {
        model.Responder = _ => FakeReply.Slow(TimeSpan.FromSeconds(8)); // every stream stays open while the test runs
        await using var host = await StartAsync(new() { ["JobStreams:MaxOpenPerCaller"] = "1" });
        var (id, _, submitted) = await SubmitAsync(host, TestHost.UserMessage("take your time"));
        submitted.Dispose();
        var (bobs, _, bobSubmitted) = await SubmitAsync(host, TestHost.UserMessage("bob's"), "bob");
        bobSubmitted.Dispose();

        var open = await host.OpenStreamAsync($"/api/chat/{id}/stream", caller: "alice");
        await using (var events = open.EventsAsync().GetAsyncEnumerator())
        {
            Assert.True(await events.MoveNextAsync()); // the first status event: the stream is open
            using var refused = await host.OpenStreamAsync($"/api/chat/{id}/stream", caller: "alice");
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
            Assert.Equal("too_many_streams", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
            using var otherCaller = await host.OpenStreamAsync($"/api/chat/{bobs}/stream", caller: "bob");
            Assert.Equal(HttpStatusCode.OK, otherCaller.StatusCode);
        }
        open.Dispose();

        // The server notices the closed connection on its next poll and gives the slot back.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode status;
        do
        {
            using var retried = await host.OpenStreamAsync($"/api/chat/{id}/stream", caller: "alice");
            status = retried.StatusCode;
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task ALongWait_IsAStatusEventWithRetryAt_AndAFailedJobEndsWithFailed()
    {
        // The second answer takes a moment, so the stream sees the job Running again before it fails.
        model.Enqueue(FakeReply.RateLimited(TimeSpan.FromSeconds(1.5)),
            FakeReply.Error(400, "context_length_exceeded") with { Delay = TimeSpan.FromMilliseconds(500) });
        await using var host = await StartAsync(new() { ["Resilience:LongWaitThreshold"] = "00:00:00.500" });
        var (id, accepted, submitted) = await SubmitAsync(host, TestHost.UserMessage("wait, then fail"));
        submitted.Dispose();

        using var stream = await host.OpenStreamAsync(accepted.GetProperty("streamUrl").GetString()!);
        var events = await stream.ReadToEndAsync();

        var waiting = Assert.Single(events, e => e.Event == "status" && e.Json.TryGetProperty("retryAt", out _));
        Assert.Equal("Queued", waiting.Json.GetProperty("status").GetString());
        Assert.InRange(waiting.RetryMs!.Value, 1000, 1600); // no reconnect is worth making before the job runs again
        Assert.Contains(events, e => e.Event == "status" && e.Json.GetProperty("status").GetString() == "Running");
        Assert.Equal("failed", events[^1].Event);
        Assert.Equal("model_rejected_request", events[^1].Json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(await GetBodyAsync(host, id), events[^1].Data);
    }
}
