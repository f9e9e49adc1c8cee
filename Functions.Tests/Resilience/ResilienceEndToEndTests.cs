using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace Functions.Tests.Resilience;

/// <summary>Each rule of the resilience contract, through the real host, Azurite and a faulting loopback Model.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ResilienceEndToEndTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    private Task<TestHost> StartHostAsync(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null) =>
        StartHostAsync(settings, builder => services?.Invoke(builder.Services));

    public static TheoryData<string> TransientFaults => ["408", "429", "500", "502", "503", "504", "reset", "cut-short", "malformed", "timeout"];

    private static FakeReply Fault(string name) => name switch
    {
        "reset" => FakeReply.ResetConnection(),
        "cut-short" => FakeReply.CutShort(),
        "malformed" => FakeReply.Malformed(),
        "timeout" => FakeReply.Slow(TimeSpan.FromSeconds(3)),
        "429" => FakeReply.RateLimited(TimeSpan.FromMilliseconds(100)),
        _ => FakeReply.Error(int.Parse(name), "server_error", "server_error"),
    };

    [Theory]
    [MemberData(nameof(TransientFaults))]
    public async Task TransientFault_IsRetried_AndTheJobSucceedsOnTheNextCall(string fault)
    {
        var host = await StartHostAsync(new() { ["OpenAI:NetworkTimeout"] = "00:00:01" });
        Model.Enqueue(Fault(fault), FakeReply.Completion("recovered"));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("retry me")));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal("recovered", job.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal(2, Model.Calls.Count);
    }

    [Theory]
    [InlineData(400, "model_rejected_request")]
    [InlineData(401, "model_unauthorized")]
    [InlineData(403, "model_forbidden")]
    [InlineData(404, "model_not_found")]
    [InlineData(422, "model_rejected_request")]
    public async Task PermanentFault_IsNeverRetried(int status, string code)
    {
        var host = await StartHostAsync();
        Model.Enqueue(FakeReply.Error(status, "scripted"));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("no retry")));

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        Assert.Equal(code, job.GetProperty("error").GetProperty("code").GetString());
        Assert.Single(Model.Calls);
    }

    [Fact]
    public async Task InsufficientQuota_FailsAtOnceWithAClearReason()
    {
        var host = await StartHostAsync();
        Model.Enqueue(FakeReply.Error(429, "insufficient_quota", "insufficient_quota"));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("out of credit")));

        var error = job.GetProperty("error");
        Assert.Equal("insufficient_quota", error.GetProperty("code").GetString());
        Assert.Contains("quota", error.GetProperty("message").GetString());
        Assert.Single(Model.Calls);
    }

    [Fact]
    public async Task OneRetryOwner_WithNoRetriesConfigured_A503CostsExactlyOneUpstreamCall()
    {
        // If the SDK still retried on its own, the scripted success behind the 503 would be reached.
        var host = await StartHostAsync(new() { ["Resilience:MaxRetries"] = "0" });
        Model.Enqueue(FakeReply.Error(503, "server_error", "server_error"), FakeReply.Completion("must not be reached"));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("one call")));

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        Assert.Equal("upstream_error", job.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("Gave up after 1 model calls", job.GetProperty("error").GetProperty("message").GetString());
        Assert.Single(Model.Calls);
    }

    [Fact]
    public async Task RetryAfterMs_IsHonoured_TheNextCallWaitsAtLeastThatLong()
    {
        var host = await StartHostAsync();
        Model.Enqueue(FakeReply.RateLimited(TimeSpan.FromMilliseconds(1200)));

        await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("slow down")));

        var calls = Model.Calls.ToList();
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1].At - calls[0].At >= TimeSpan.FromMilliseconds(1200), $"waited only {calls[1].At - calls[0].At}");
    }

    [Fact]
    public async Task LongWait_SendsTheJobBackToTheQueue_ShownQueuedWithRetryAt()
    {
        var host = await StartHostAsync(new() { ["Resilience:LongWaitThreshold"] = "00:00:00.500" });
        Model.Enqueue(FakeReply.RateLimited(TimeSpan.FromSeconds(3)));
        var id = await host.SubmitAcceptedAsync(TestHost.UserMessage("come back later"));

        JsonElement waiting;
        TimeSpan? pollAfter;
        var giveUp = DateTime.UtcNow.AddSeconds(20);
        do
        {
            Assert.True(DateTime.UtcNow < giveUp, "the job never showed retryAt");
            using var response = await host.GetAsync(id);
            waiting = await response.Content.ReadFromJsonAsync<JsonElement>();
            pollAfter = response.Headers.RetryAfter?.Delta;
        }
        while (!waiting.TryGetProperty("retryAt", out _) && waiting.GetProperty("status").GetString() != "Succeeded");
        var job = await host.WaitForTerminalAsync(id);

        Assert.Equal("Queued", waiting.GetProperty("status").GetString());
        var retryAt = waiting.GetProperty("retryAt").GetDateTimeOffset();
        Assert.InRange(retryAt - Model.Calls.First().At, TimeSpan.FromSeconds(2.9), TimeSpan.FromSeconds(5));
        Assert.InRange(pollAfter!.Value, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)); // poll again when it is due
        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.True(Model.Calls.Last().At >= retryAt.AddMilliseconds(-100), "the job ran again only when due");
    }

    [Fact]
    public async Task SharedBackoff_A429OnOneWorker_HoldsTheOtherWorkersCallsToo()
    {
        // Two workers with separate queues but one gate table: what one learns from a 429, both obey.
        var gate = AzuriteFixture.UniqueName("gate");
        var first = await StartHostAsync(new() { ["Storage:GateTable"] = gate, ["Resilience:MaxBackoff"] = "00:00:05" });
        var second = await StartHostAsync(new() { ["Storage:GateTable"] = gate, ["Resilience:MaxBackoff"] = "00:00:05" });
        Model.Enqueue(FakeReply.RateLimited(TimeSpan.FromSeconds(2)));

        var throttled = await first.SubmitAcceptedAsync(TestHost.UserMessage("first"));
        while (Model.Calls.Count == 0)
        {
            await Task.Delay(10);
        }
        await Task.Delay(300); // the 429 reached the first worker and closed the gate
        var other = await second.SubmitAcceptedAsync(TestHost.UserMessage("second"));
        await first.WaitForTerminalAsync(throttled);
        await second.WaitForTerminalAsync(other);

        var rateLimitedAt = Model.Calls.First().At;
        var secondWorkersCall = Assert.Single(Model.Calls, c => c.LastMessage == "second");
        Assert.True(secondWorkersCall.At - rateLimitedAt >= TimeSpan.FromSeconds(2),
            $"the other worker called after {secondWorkersCall.At - rateLimitedAt}");
    }

    [Fact]
    public async Task SharedBackoff_IsCappedAtMaxBackoff_EvenWhenTheServerAsksForLonger()
    {
        var gate = AzuriteFixture.UniqueName("gate");
        var host = await StartHostAsync(new()
        {
            ["Storage:GateTable"] = gate, ["Resilience:MaxBackoff"] = "00:00:01", ["Resilience:LongWaitThreshold"] = "00:00:00.500",
        });
        Model.Enqueue(FakeReply.RateLimited(TimeSpan.FromMinutes(10)));

        await host.SubmitAcceptedAsync(TestHost.UserMessage("far too long"));
        while (Model.Calls.Count == 0)
        {
            await Task.Delay(10);
        }
        await Task.Delay(300);
        var closed = await new Core.Resilience.UpstreamGate(
            new Azure.Data.Tables.TableClient(Azurite.ConnectionString, gate), TimeProvider.System).ClosedUntilAsync("default|gpt-4.1-mini", CancellationToken.None);

        Assert.NotNull(closed);
        Assert.InRange(closed.Value.Until - Model.Calls.First().At, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task IdempotencyKey_SameRequest_ReturnsTheSameJob_WithOneModelCall()
    {
        var host = await StartHostAsync();
        var body = TestHost.UserMessage("exactly once");

        var first = await host.SubmitAcceptedAsync(body, caller: "alice", idempotencyKey: "order-42");
        await host.WaitForTerminalAsync(first, caller: "alice");
        var again = await host.SubmitAcceptedAsync(body, caller: "alice", idempotencyKey: "order-42");
        var otherCaller = await host.SubmitAcceptedAsync(body, caller: "bob", idempotencyKey: "order-42");
        await host.WaitForTerminalAsync(otherCaller, caller: "bob");

        Assert.Equal(first, again);
        Assert.NotEqual(first, otherCaller);
        Assert.Equal(2, Model.Calls.Count); // alice once, bob once
    }

    [Fact]
    public async Task IdempotencyKey_DifferentBody_Is422()
    {
        var host = await StartHostAsync();
        await host.SubmitAcceptedAsync(TestHost.UserMessage("one thing"), idempotencyKey: "k1");

        using var response = await host.SubmitAsync(TestHost.UserMessage("another thing"), idempotencyKey: "k1");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("idempotency_key_reused", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task MessageDeliveredAgainAfterSuccess_CausesNoSecondModelCall()
    {
        var host = await StartHostAsync();
        var id = await host.SubmitAcceptedAsync(TestHost.UserMessage("once only"));
        var before = await host.WaitForTerminalAsync(id);

        await host.Service<ProcessChatHandler>().HandleAsync(new JobMessage(id).Serialize(), CancellationToken.None);
        var after = await host.GetJobAsync(id);

        Assert.Single(Model.Calls);
        Assert.Equal(before.GetProperty("completedAt").GetDateTimeOffset(), after.GetProperty("completedAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task DuplicateDeliveryWhileAnotherWorkerHoldsTheJob_IsIgnored()
    {
        var host = await StartHostAsync();
        Model.Enqueue(FakeReply.Slow(TimeSpan.FromSeconds(1.5)));
        var id = await host.SubmitAcceptedAsync(TestHost.UserMessage("hold on"));
        while (Model.Calls.Count == 0)
        {
            await Task.Delay(10);
        }

        await host.Service<ProcessChatHandler>().HandleAsync(new JobMessage(id).Serialize(), CancellationToken.None);
        var job = await host.WaitForTerminalAsync(id);

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Single(Model.Calls);
    }

    [Fact]
    public async Task WorkerDiedHoldingTheLease_ItsRedeliveredMessageWaitsOutTheLease_AndTakesTheJobOver()
    {
        // A worker process died mid-call: the job is Running under its lease and the host hands the message back early.
        var host = await StartHostAsync();
        var now = DateTimeOffset.UtcNow;
        var orphan = new Job(JobIds.New(TimeProvider.System), "anonymous", JobStatus.Running,
            new ChatRequest([new Core.Requests.ChatMessage("user", "orphaned")], "gpt-4.1-mini", null, null), now,
            StartedAt: now, ModelCalls: 1, LeaseUntil: now.AddSeconds(1.5));
        await host.Service<JobTable>().AddAsync(orphan, CancellationToken.None);

        await host.Service<JobQueue>().EnqueueAsync(orphan.Id, CancellationToken.None);
        var job = await host.WaitForTerminalAsync(orphan.Id, timeout: TimeSpan.FromSeconds(20));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        var call = Assert.Single(Model.Calls);
        Assert.True(call.At >= orphan.LeaseUntil, "taken over only once the dead worker's lease ended");
    }

    [Fact]
    public async Task StorageBlipWhileRecordingAPaidCall_IsRiddenOut_WithoutPayingForASecondCall()
    {
        var spendTable = AzuriteFixture.UniqueName("spend");
        var flaky = new Mock<TableClient>(Azurite.ConnectionString, spendTable) { CallBase = true };
        flaky.SetupSequence(table => table.AddEntityAsync(It.IsAny<TableEntity>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(503, "Server busy"))
            .CallBase();
        var host = await StartHostAsync(new() { ["Spend:Table"] = spendTable },
            services => services.AddSingleton(new SpendTable(flaky.Object)));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("paid once")));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Single(Model.Calls);
        var ledger = await host.Service<SpendLedger>().ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None).ToListAsync();
        Assert.Single(ledger, entry => entry.Kind == LedgerEntry.Call);
    }

    [Fact]
    public async Task CrashAfterTheModelCall_BeforeTheResultIsWritten_RepeatsThatOneCallOnly()
    {
        var crashes = new CrashOnceAfterCall();
        var host = await StartHostAsync(services: services => services.AddSingleton<IChatModel>(provider =>
        {
            crashes.Inner = ActivatorUtilities.CreateInstance<Core.Routing.RoutedChatModel>(provider);
            return crashes;
        }));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("crash once")));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal(2, Model.Calls.Count);
        Assert.Equal(1, crashes.Crashes);
    }

    [Fact]
    public async Task UnexpectedFailureEveryTime_EndsInThePoisonQueue_AndTheJobFails()
    {
        var host = await StartHostAsync(
            new() { ["AzureFunctionsJobHost:extensions:queues:maxDequeueCount"] = "2" },
            services => services.AddSingleton<IChatModel, AlwaysBroken>());

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("poison")));

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        Assert.Equal("processing_failed", job.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("Gave up", job.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task CircuitBreaker_OpensAfterRepeatedFailures_HoldsCalls_ThenRecovers()
    {
        var host = await StartHostAsync(new()
        {
            ["Resilience:CircuitFailureThreshold"] = "2",
            ["Resilience:CircuitBreakDuration"] = "00:00:01.500",
            ["Resilience:MaxRetries"] = "5",
        });
        Model.Enqueue(FakeReply.Error(503, "server_error", "server_error"), FakeReply.Error(503, "server_error", "server_error"));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("trip the breaker")));

        var calls = Model.Calls.ToList();
        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal(3, calls.Count);
        Assert.True(calls[2].At - calls[1].At >= TimeSpan.FromSeconds(1.5), $"probe came after {calls[2].At - calls[1].At}");
    }

    [Fact]
    public async Task RateLimitedAnswers_WithARetryHint_HoldBackForTheHint_ButNeverOpenTheCircuit()
    {
        // Three 429s in a row against a threshold of two: counted as failures they would open a five-minute break.
        var host = await StartHostAsync(new()
        {
            ["Resilience:CircuitFailureThreshold"] = "2",
            ["Resilience:CircuitBreakDuration"] = "00:05:00",
            ["Resilience:MaxRetries"] = "5",
        });
        var limited = FakeReply.RateLimited(TimeSpan.FromMilliseconds(50));
        Model.Enqueue(limited, limited, limited);

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("rate limited thrice")));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal(4, Model.Calls.Count);
    }

    [Fact]
    public async Task NetworkTimeoutPerAttempt_AndTheJobDeadline_EndTheJobAsDeadlineExceeded()
    {
        var host = await StartHostAsync(new()
        {
            ["OpenAI:NetworkTimeout"] = "00:00:01",
            ["Resilience:JobDeadline"] = "00:00:02",
            ["Resilience:MaxRetries"] = "10",
        });
        Model.Responder = _ => FakeReply.Slow(TimeSpan.FromSeconds(5));

        var job = await host.WaitForTerminalAsync(await host.SubmitAcceptedAsync(TestHost.UserMessage("too slow")));

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        Assert.Equal("deadline_exceeded", job.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("did not answer in time", job.GetProperty("error").GetProperty("message").GetString());
        Assert.InRange(Model.Calls.Count, 1, 3);
    }

    /// <summary>Lets the first call reach the model, then "crashes" before the result can be written.</summary>
    private sealed class CrashOnceAfterCall : IChatModel
    {
        public IChatModel Inner { get; set; } = null!;
        public int Crashes;

        public async Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
        {
            var result = await Inner.CompleteAsync(request, cancellationToken);
            if (Interlocked.Increment(ref Crashes) == 1)
            {
                throw new InvalidOperationException("worker died after the model answered");
            }
            Interlocked.Decrement(ref Crashes);
            return result;
        }

        public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var result = await CompleteAsync(request, cancellationToken);
            yield return new ChatDelta(result.Content, result.Model, result.FinishReason, result.Usage);
        }
    }

    private sealed class AlwaysBroken : IChatModel
    {
        public Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug, not an upstream failure");

        public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var result = await CompleteAsync(request, cancellationToken);
            yield return new ChatDelta(result.Content, result.Model, result.FinishReason, result.Usage);
        }
    }
}
