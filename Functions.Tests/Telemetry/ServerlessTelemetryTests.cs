using System.Diagnostics;
using System.Diagnostics.Metrics;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Functions.Core.Telemetry.TelemetryNames;

namespace Functions.Tests.Telemetry;

/// <summary>
/// The telemetry class on its own: each hook's measurement, the GenAI span and metrics of a streamed and a non-streamed
/// call, and the trace context the queue carries. Listeners watch only this test's ActivitySource and Meter.
/// </summary>
public sealed class ServerlessTelemetryTests : IDisposable
{
    private static readonly ChatRequest Request = new([new ChatMessage("user", "a private question")], "gpt-4.1-mini", 0.2, 50);
    private static readonly UpstreamEndpoint Endpoint = UpstreamEndpoint.From(new Uri("https://api.openai.com/v1"));

    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ServerlessTelemetry telemetry;
    private readonly MeterListener meterListener = new();
    private readonly ActivityListener activityListener;
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> measurements = [];
    private readonly List<Activity> spans = [];

    public ServerlessTelemetryTests() : this(recordContent: false)
    {
    }

    private ServerlessTelemetryTests(bool recordContent)
    {
        telemetry = Create(recordContent);
        meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, telemetry.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        meterListener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        meterListener.Start();
        activityListener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, telemetry.ActivitySource),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = span =>
            {
                lock (spans)
                {
                    spans.Add(span);
                }
            },
        };
        ActivitySource.AddActivityListener(activityListener);
    }

    private ServerlessTelemetry Create(bool recordContent) => new(meters.GetRequiredService<IMeterFactory>(), new HealthCounters(time),
        Options.Create(new TelemetryOptions { RecordMessageContent = recordContent }), time);

    public void Dispose()
    {
        activityListener.Dispose();
        meterListener.Dispose();
        telemetry.Dispose();
        meters.Dispose();
    }

    [Fact]
    public void RateLimitRefused_CountsOneRefusalWithTheLimitsName_AndTagsTheCurrentSpan()
    {
        using var span = telemetry.StartSubmit(Routes.Chat);

        telemetry.RateLimitRefused("perCallerPerMinute");

        var refusal = Assert.Single(measurements, m => m.Instrument == Metrics.RateLimitRefusals);
        Assert.Equal(1, refusal.Value);
        Assert.Equal("perCallerPerMinute", refusal.Tags[Ours.RateLimit]);
        Assert.Equal("perCallerPerMinute", span!.GetTagItem(Ours.RateLimit));
    }

    [Fact]
    public void Hooks_CountWhatTheyAreTold()
    {
        telemetry.BudgetRefused("globalDaily");
        telemetry.CacheLookedUp(hit: true, cacheable: true);
        telemetry.CacheLookedUp(hit: false, cacheable: true);
        telemetry.CacheLookedUp(hit: false, cacheable: false);
        telemetry.CacheOutcome(CacheOutcomes.Collapsed);
        telemetry.QueueWait(TimeSpan.FromMilliseconds(1500));
        telemetry.Cost(1234, "gpt-4.1-mini");
        telemetry.CircuitOpened();
        telemetry.UpstreamStatus(429, "429", new TagList());

        Assert.Equal("globalDaily", Assert.Single(measurements, m => m.Instrument == Metrics.BudgetRefusals).Tags[Ours.Budget]);
        Assert.Equal([CacheOutcomes.Hit, CacheOutcomes.Miss, CacheOutcomes.Bypass, CacheOutcomes.Collapsed],
            measurements.Where(m => m.Instrument == Metrics.CacheRequests).Select(m => (string)m.Tags[Ours.CacheOutcome]!));
        Assert.Equal(1.5, Assert.Single(measurements, m => m.Instrument == Metrics.QueueWait).Value);
        var cost = Assert.Single(measurements, m => m.Instrument == Metrics.Cost);
        Assert.Equal((1234d, "gpt-4.1-mini"), (cost.Value, (string)cost.Tags[GenAi.ResponseModel]!));
        Assert.Single(measurements, m => m.Instrument == Metrics.CircuitOpened);
        var upstream = Assert.Single(measurements, m => m.Instrument == Metrics.UpstreamResponses);
        Assert.Equal((429, "429"), ((int)upstream.Tags[HttpStatusCode]!, (string)upstream.Tags[ErrorType]!));
        // The same counts feed the operational alerts.
        var health = Assert.Single(telemetry.Health.TakeChanged()).Counts;
        Assert.Equal(new HealthCounts(Calls: 1, RateLimited: 1, CircuitOpens: 1, CostMicros: 1234), health);
    }

    [Fact]
    public async Task ANonStreamedCall_IsAGenAiClientSpan_WithDurationAndTokenUsageMetrics()
    {
        var model = new InstrumentedChatModel(new ScriptedModel(time, TimeSpan.FromMilliseconds(640),
            new JobResult("answer", "gpt-4.1-mini-2025-04-14", "stop", new TokenUsage(21, 5, 8))),
            telemetry, Options.Create(new OpenAIOptions()));
        using (var parent = telemetry.StartSubmit(Routes.Chat))
        {
            ServerlessTelemetry.TagCaller("alice");
            await model.CompleteAsync(Request, CancellationToken.None);
        }

        var call = Assert.Single(spans, span => span.Kind == ActivityKind.Client);
        Assert.Equal("chat gpt-4.1-mini", call.DisplayName);
        Assert.Equal("chat", call.GetTagItem(GenAi.OperationName));
        Assert.Equal("openai", call.GetTagItem(GenAi.ProviderName));
        Assert.Equal("gpt-4.1-mini", call.GetTagItem(GenAi.RequestModel));
        Assert.Equal(0.2, call.GetTagItem(GenAi.RequestTemperature));
        Assert.Equal(50, call.GetTagItem(GenAi.RequestMaxTokens));
        Assert.Equal("gpt-4.1-mini-2025-04-14", call.GetTagItem(GenAi.ResponseModel));
        Assert.Equal(21, call.GetTagItem(GenAi.UsageInputTokens));
        Assert.Equal(8, call.GetTagItem(GenAi.UsageOutputTokens));
        Assert.Equal(5, call.GetTagItem(GenAi.UsageCachedInputTokens));
        Assert.Equal(["stop"], (string[])call.GetTagItem(GenAi.ResponseFinishReasons)!);
        Assert.Equal(("api.openai.com", 443), (call.GetTagItem(ServerAddress), call.GetTagItem(ServerPort)));
        Assert.Equal(false, call.GetTagItem(Ours.Streamed));
        Assert.Equal(CallerHash.Of("alice"), call.GetTagItem(Ours.CallerHash));
        Assert.Null(call.GetTagItem(GenAi.InputMessages)); // no content without the opt-in
        Assert.Null(call.GetTagItem(GenAi.OutputMessages));

        var duration = Assert.Single(measurements, m => m.Instrument == Metrics.OperationDuration);
        Assert.Equal(0.64, duration.Value, 6);
        Assert.Equal("gpt-4.1-mini-2025-04-14", duration.Tags[GenAi.ResponseModel]);
        Assert.Equal("openai", duration.Tags[GenAi.ProviderName]);
        Assert.False(duration.Tags.ContainsKey(ErrorType));
        var tokens = measurements.Where(m => m.Instrument == Metrics.TokenUsage).ToDictionary(m => (string)m.Tags[GenAi.TokenType]!, m => m.Value);
        Assert.Equal(new Dictionary<string, double> { ["input"] = 21, ["output"] = 8 }, tokens);
        Assert.DoesNotContain(measurements, m => m.Instrument == Metrics.TimeToFirstChunk);
    }

    [Fact]
    public void AStreamedCall_RecordsTimeToFirstChunk_AndTheFinalChunksUsage()
    {
        using (var call = telemetry.StartModelCall(Request, Endpoint, streamed: true))
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            call.Chunk();
            time.Advance(TimeSpan.FromMilliseconds(500));
            call.Chunk();
            time.Advance(TimeSpan.FromMilliseconds(250));
            call.Succeeded(new JobResult("streamed answer", "gpt-4.1-mini-2025-04-14", "length", new TokenUsage(12, 0, 40)));
        }

        var span = Assert.Single(spans);
        Assert.Equal("chat gpt-4.1-mini", span.DisplayName);
        Assert.Equal(true, span.GetTagItem(Ours.Streamed));
        Assert.Equal(0.25, (double)span.GetTagItem(GenAi.ResponseTimeToFirstChunk)!, 6);
        Assert.Equal(12, span.GetTagItem(GenAi.UsageInputTokens));
        Assert.Equal(40, span.GetTagItem(GenAi.UsageOutputTokens));
        Assert.Equal(["length"], (string[])span.GetTagItem(GenAi.ResponseFinishReasons)!);
        var firstChunk = Assert.Single(measurements, m => m.Instrument == Metrics.TimeToFirstChunk);
        Assert.Equal(0.25, firstChunk.Value, 6);
        Assert.Equal("gpt-4.1-mini", firstChunk.Tags[GenAi.RequestModel]);
        Assert.Equal(1.0, Assert.Single(measurements, m => m.Instrument == Metrics.OperationDuration).Value, 6);
    }

    [Fact]
    public async Task AStreamedCallThroughTheDecorator_IsOneSpan_WithTimeToFirstTokenAndTheFinalChunksUsage()
    {
        var model = new InstrumentedChatModel(new ScriptedModel(time, TimeSpan.FromMilliseconds(100), deltas:
            [
                new ChatDelta(Model: "gpt-4.1-mini-2025-04-14"), // role only: not a token yet
                new ChatDelta("Hel"),
                new ChatDelta("lo"),
                new ChatDelta(FinishReason: "stop"),
                new ChatDelta(Usage: new TokenUsage(9, 0, 2)),
            ]), telemetry, Options.Create(new OpenAIOptions()));

        var text = "";
        await foreach (var delta in model.StreamAsync(Request, CancellationToken.None))
        {
            text += delta.Content;
        }

        Assert.Equal("Hello", text);
        var span = Assert.Single(spans);
        Assert.Equal("chat gpt-4.1-mini", span.DisplayName);
        Assert.Equal(true, span.GetTagItem(Ours.Streamed));
        Assert.Equal("gpt-4.1-mini-2025-04-14", span.GetTagItem(GenAi.ResponseModel));
        Assert.Equal((9, 2), (span.GetTagItem(GenAi.UsageInputTokens), span.GetTagItem(GenAi.UsageOutputTokens)));
        Assert.Equal(["stop"], (string[])span.GetTagItem(GenAi.ResponseFinishReasons)!);
        Assert.Equal(0.2, Assert.Single(measurements, m => m.Instrument == Metrics.TimeToFirstChunk).Value, 6);
        Assert.Equal(0.5, Assert.Single(measurements, m => m.Instrument == Metrics.OperationDuration).Value, 6);
        Assert.Equal([9d, 2d], measurements.Where(m => m.Instrument == Metrics.TokenUsage).Select(m => m.Value));
    }

    [Fact]
    public async Task AStreamThatBreaksOff_EndsItsSpanWithTheErrorType_AndReportsNoTokens()
    {
        var model = new InstrumentedChatModel(new ScriptedModel(time, TimeSpan.FromMilliseconds(100),
            failure: new ModelCallException("upstream_unreachable", "The connection to the model failed or broke off.", true),
            deltas: [new ChatDelta("partial")]), telemetry, Options.Create(new OpenAIOptions()));

        await Assert.ThrowsAsync<ModelCallException>(async () =>
        {
            await foreach (var _ in model.StreamAsync(Request, CancellationToken.None))
            {
            }
        });

        var span = Assert.Single(spans);
        Assert.Equal("upstream_unreachable", span.GetTagItem(ErrorType));
        Assert.DoesNotContain(measurements, m => m.Instrument == Metrics.TokenUsage);
        Assert.Single(measurements, m => m.Instrument == Metrics.TimeToFirstChunk);
    }

    [Fact]
    public void AStreamAbandonedMidway_EndsItsSpanAsCancelled_AndIsNotAnUpstreamError()
    {
        using (var call = telemetry.StartModelCall(Request, Endpoint, streamed: true))
        {
            call.Chunk();
        }

        var span = Assert.Single(spans);
        Assert.Equal("cancelled", span.GetTagItem(ErrorType));
        Assert.Empty(telemetry.Health.TakeChanged());
    }

    [Fact]
    public async Task AFailedCall_CarriesErrorTypeAndStatus_OnTheSpanAndTheDuration()
    {
        var model = new InstrumentedChatModel(new ScriptedModel(time, TimeSpan.FromSeconds(2),
            failure: new ModelCallException("rate_limited", "The model provider is rate limiting this backend (HTTP 429).", true, 429)),
            telemetry, Options.Create(new OpenAIOptions { Endpoint = new Uri("https://contoso.openai.azure.com/openai/v1/") }));

        await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));

        var span = Assert.Single(spans);
        Assert.Equal("azure.ai.openai", span.GetTagItem(GenAi.ProviderName));
        Assert.Equal("429", span.GetTagItem(ErrorType));
        Assert.Equal(429, span.GetTagItem(HttpStatusCode));
        Assert.Equal((ActivityStatusCode.Error, "rate_limited"), (span.Status, span.StatusDescription));
        var duration = Assert.Single(measurements, m => m.Instrument == Metrics.OperationDuration);
        Assert.Equal(("429", 2.0), ((string)duration.Tags[ErrorType]!, duration.Value));
        Assert.DoesNotContain(measurements, m => m.Instrument == Metrics.TokenUsage);
    }

    [Fact]
    public void WithTheOptIn_MessagesAreRecordedOnTheSpan()
    {
        using var optedIn = new ServerlessTelemetryTests(recordContent: true);
        using (var call = optedIn.telemetry.StartModelCall(Request, Endpoint, streamed: false))
        {
            call.Succeeded(new JobResult("the answer", "gpt-4.1-mini", "stop", new TokenUsage(1, 0, 1)));
        }

        var span = Assert.Single(optedIn.spans);
        Assert.Equal("""[{"role":"user","parts":[{"type":"text","content":"a private question"}]}]""", span.GetTagItem(GenAi.InputMessages));
        Assert.Equal("""[{"role":"assistant","parts":[{"type":"text","content":"the answer"}],"finish_reason":"stop"}]""",
            span.GetTagItem(GenAi.OutputMessages));
    }

    [Fact]
    public void TheQueueCarriesTheTrace_TheWorkersSpanHangsUnderAQueueWaitSpan_AndLinksTheHostsInvocation()
    {
        JobMessage message;
        ActivityTraceId submitTrace;
        ActivitySpanId submitSpan;
        using (var submit = telemetry.StartSubmit(Routes.Chat))
        {
            (submitTrace, submitSpan) = (submit!.TraceId, submit.SpanId);
            message = JobMessage.InCurrentTrace(JobIds.New(time), 0, time.GetUtcNow());
        }
        time.Advance(TimeSpan.FromMilliseconds(300));
        using var host = new Activity("Invoke ProcessChat").Start(); // the Functions host's own invocation span

        using (telemetry.StartProcess(JobMessage.TryParse(message.Serialize())!))
        {
        }

        var wait = Assert.Single(spans, span => span.OperationName == Spans.QueueWait);
        var process = Assert.Single(spans, span => span.OperationName == Spans.Process);
        Assert.Equal((submitTrace, submitSpan), (wait.TraceId, wait.ParentSpanId));
        Assert.Equal((submitTrace, wait.SpanId), (process.TraceId, process.ParentSpanId));
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(host.TraceId, Assert.Single(process.Links).Context.TraceId);
        Assert.Equal(0.3, Assert.Single(measurements, m => m.Instrument == Metrics.QueueWait).Value, 6);
        Assert.Same(host, Activity.Current);
    }

    [Fact]
    public void AMessageFromBeforeTraceContext_IsReadAndStartsItsOwnSpan()
    {
        var old = JobMessage.TryParse("""{"jobId":"01a2316cb8fc7fea8b2ac5a1ca67a9a3","attempt":2}""");

        using (telemetry.StartProcess(old!))
        {
        }

        Assert.Equal(("01a2316cb8fc7fea8b2ac5a1ca67a9a3", 2, null), (old!.JobId, old.Attempt, old.TraceParent));
        var process = Assert.Single(spans);
        Assert.Equal(default, process.ParentSpanId);
        Assert.DoesNotContain(measurements, m => m.Instrument == Metrics.QueueWait);
    }

    [Fact]
    public void CallerHash_IsStablePerCaller_AndHidesTheId()
    {
        Assert.Equal(CallerHash.Of("alice@example.com"), CallerHash.Of("alice@example.com"));
        Assert.NotEqual(CallerHash.Of("alice@example.com"), CallerHash.Of("bob@example.com"));
        Assert.Matches("^[0-9a-f]{16}$", CallerHash.Of("alice@example.com"));
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }
        lock (measurements)
        {
            measurements.Add((instrument.Name, value, copy));
        }
    }

    /// <summary>A model that takes <paramref name="takes"/> on the test's clock, then answers or fails; streams its deltas a step apart.</summary>
    private sealed class ScriptedModel(FakeTimeProvider time, TimeSpan takes, JobResult? result = null, Exception? failure = null,
        IReadOnlyList<ChatDelta>? deltas = null) : IChatModel
    {
        public Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
        {
            time.Advance(takes);
            return failure is null ? Task.FromResult(result!) : Task.FromException<JobResult>(failure);
        }

        public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var delta in deltas ?? [])
            {
                await Task.Yield();
                time.Advance(takes);
                yield return delta;
            }
            if (failure is not null)
            {
                throw failure;
            }
        }
    }
}
