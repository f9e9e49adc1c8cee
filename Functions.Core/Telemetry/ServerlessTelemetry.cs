using System.Diagnostics;
using System.Diagnostics.Metrics;
using Functions.Core.Jobs;
using Microsoft.Extensions.Options;
using static Functions.Core.Telemetry.TelemetryNames;

namespace Functions.Core.Telemetry;

/// <summary>
/// The backend's one ActivitySource and Meter, and the small hooks the pipeline calls (<see cref="CacheOutcome"/>,
/// <see cref="BudgetRefused"/>, <see cref="RateLimitRefused"/>, <see cref="QueueWait"/>, <see cref="TimeToFirstToken"/>,
/// <see cref="UpstreamStatus"/>, <see cref="Cost"/>). Nothing here can fail a request: with no listener a span is
/// null and a measurement is a no-op, and no hook touches storage. Counts that operational alerts need across
/// instances also go to <see cref="HealthCounters"/>, which a background service flushes.
/// </summary>
public sealed class ServerlessTelemetry : IDisposable
{
    /// <summary>The GenAI conventions' token-usage buckets: powers of four from 1 to 67,108,864.</summary>
    internal static readonly IReadOnlyList<long> TokenBuckets =
        [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    /// <summary>The GenAI conventions' operation-duration buckets, in seconds: doubling from 10 ms to 81.92 s.</summary>
    internal static readonly IReadOnlyList<double> DurationBuckets =
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    /// <summary>The GenAI conventions' time-to-first-chunk buckets, in seconds.</summary>
    internal static readonly IReadOnlyList<double> FirstChunkBuckets =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

    /// <summary>Queue waits run from milliseconds (an idle queue) to minutes (a backlog, a requeue).</summary>
    internal static readonly IReadOnlyList<double> QueueWaitBuckets =
        [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

    private readonly Histogram<long> tokenUsage;
    private readonly Histogram<double> operationDuration;
    private readonly Histogram<double> timeToFirstChunk;
    private readonly Counter<long> cost;
    private readonly Counter<long> cacheRequests;
    private readonly Counter<long> upstreamResponses;
    private readonly Counter<long> budgetRefusals;
    private readonly Counter<long> rateLimitRefusals;
    private readonly Histogram<double> queueWait;
    private readonly Counter<long> circuitOpened;
    private readonly Counter<long> poisonMessages;
    private readonly Counter<long> telemetryDropped;

    public ServerlessTelemetry(IMeterFactory meters, HealthCounters health, IOptions<TelemetryOptions> options, TimeProvider time)
    {
        Health = health;
        Options = options.Value;
        Time = time;
        ActivitySource = new ActivitySource(Source);
        Meter = meters.Create(Source);
        tokenUsage = Meter.CreateHistogram(Metrics.TokenUsage, "{token}", "Number of input and output tokens used.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        operationDuration = Meter.CreateHistogram(Metrics.OperationDuration, "s", "GenAI operation duration.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        timeToFirstChunk = Meter.CreateHistogram(Metrics.TimeToFirstChunk, "s",
            "Time from sending a streamed request to receiving its first chunk.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstChunkBuckets });
        cost = Meter.CreateCounter<long>(Metrics.Cost, "{microdollar}", "What model calls cost, in millionths of a US dollar.");
        cacheRequests = Meter.CreateCounter<long>(Metrics.CacheRequests, "{request}", "Requests by what the response cache did for them.");
        upstreamResponses = Meter.CreateCounter<long>(Metrics.UpstreamResponses, "{response}",
            "Model calls by HTTP status (0: no response); error.type on failures.");
        budgetRefusals = Meter.CreateCounter<long>(Metrics.BudgetRefusals, "{request}", "Requests refused because a budget would be exceeded.");
        rateLimitRefusals = Meter.CreateCounter<long>(Metrics.RateLimitRefusals, "{request}", "Requests refused by a rate limit.");
        queueWait = Meter.CreateHistogram(Metrics.QueueWait, "s", "Time a job's message waited on the queue once it was visible.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = QueueWaitBuckets });
        circuitOpened = Meter.CreateCounter<long>(Metrics.CircuitOpened, "{event}", "Times the upstream circuit opened.");
        poisonMessages = Meter.CreateCounter<long>(Metrics.PoisonMessages, "{message}", "Job messages the host gave up on.");
        telemetryDropped = Meter.CreateCounter<long>(Metrics.TelemetryDropped, "{span}",
            "Spans dropped because the exporter could not keep up.");
    }

    public ActivitySource ActivitySource { get; }
    public Meter Meter { get; }
    public HealthCounters Health { get; }
    internal TelemetryOptions Options { get; }
    internal TimeProvider Time { get; }

    // ---- Spans of the pipeline ----

    /// <summary>The submit door's span, a child of the host's request span; tagged with the caller's hash, never the id.</summary>
    public Activity? StartSubmit(string route)
    {
        var span = ActivitySource.StartActivity(Spans.Submit, ActivityKind.Internal);
        span?.SetTag(Ours.Route, route);
        return span;
    }

    /// <summary>The caller of the current span, as its hash.</summary>
    public static void TagCaller(string caller) => Activity.Current?.SetTag(Ours.CallerHash, CallerHash.Of(caller));

    /// <summary>
    /// The worker's span for one delivery of <paramref name="message"/>: a child of a "queue wait" span that covers the
    /// time the message sat visible on the queue, itself a child of the span that sent it (carried in the message as a
    /// W3C traceparent), so one trace runs from submit through every requeue to the recording. The host's own
    /// invocation span, if any, is linked. A message without trace context (one sent before it was carried) starts a
    /// trace of its own.
    /// </summary>
    public Activity? StartProcess(JobMessage message)
    {
        var wait = message.VisibleAt is { } visibleAt ? Positive(Time.GetUtcNow() - visibleAt) : (TimeSpan?)null;
        if (wait is { } waited)
        {
            QueueWait(waited);
        }

        var host = Activity.Current;
        var parent = Sender(message);
        if (parent != default)
        {
            if (wait is { } waitedVisible && ActivitySource.HasListeners())
            {
                using var waitSpan = ActivitySource.StartActivity(Spans.QueueWait, ActivityKind.Internal, parent,
                    startTime: DateTimeOffset.UtcNow - waitedVisible);
                if (waitSpan is not null)
                {
                    waitSpan.SetTag(Ours.JobId, message.JobId);
                    parent = waitSpan.Context;
                }
            }
            Activity.Current = host; // the wait span is closed; the process span hangs under it, not under the host
        }

        var span = parent == default
            ? ActivitySource.StartActivity(Spans.Process, ActivityKind.Consumer)
            : ActivitySource.StartActivity(Spans.Process, ActivityKind.Consumer, parent,
                links: host is null ? null : [new ActivityLink(host.Context)]);
        span?.SetTag(Ours.JobId, message.JobId);
        span?.SetTag(Ours.JobAttempt, message.Attempt);
        return span;
    }

    /// <summary>What the worker learned when it loaded the job: its caller (hashed), model and door.</summary>
    public static void TagJob(Job job)
    {
        if (Activity.Current is not { } span)
        {
            return;
        }
        span.SetTag(Ours.CallerHash, CallerHash.Of(job.Caller));
        span.SetTag(GenAi.RequestModel, job.Request.Model);
        span.SetTag(Ours.Route, Routes.Chat);
        span.SetTag(Ours.RetryCount, Math.Max(0, job.ModelCalls - 1));
    }

    /// <summary>The interactive door's span for one admitted call, while the client waits for its answer.</summary>
    public Activity? StartInteractive(Job job)
    {
        var span = ActivitySource.StartActivity(Spans.Complete, ActivityKind.Internal);
        if (span is not null)
        {
            span.SetTag(Ours.JobId, job.Id);
            span.SetTag(Ours.CallerHash, CallerHash.Of(job.Caller));
            span.SetTag(Ours.Route, Routes.ChatCompletions);
            span.SetTag(GenAi.RequestModel, job.Request.Model);
        }
        return span;
    }

    /// <summary>The span around writing a paid answer: ledger, budget settlement, cache, job row.</summary>
    public Activity? StartRecording(Job job)
    {
        var span = ActivitySource.StartActivity(Spans.Record, ActivityKind.Internal);
        span?.SetTag(Ours.JobId, job.Id);
        return span;
    }

    /// <summary>The poison handler's span for one message, in the message's trace when it carries one.</summary>
    public Activity? StartPoison(JobMessage message)
    {
        PoisonMessage();
        var span = ActivitySource.StartActivity(Spans.Poison, ActivityKind.Consumer, Sender(message));
        span?.SetTag(Ours.JobId, message.JobId);
        return span;
    }

    /// <summary>One upstream call, measured and traced by the GenAI conventions (see <see cref="ModelCallTelemetry"/>).</summary>
    public ModelCallTelemetry StartModelCall(Requests.ChatRequest request, UpstreamEndpoint endpoint, bool streamed) =>
        new(this, request, endpoint, streamed);

    // ---- Measurements ----

    /// <summary>What the cache did for a request (<see cref="CacheOutcomes"/>), counted and set on the current span.</summary>
    public void CacheOutcome(string outcome, string route = Routes.Chat)
    {
        cacheRequests.Add(1, new(Ours.CacheOutcome, outcome), new(Ours.Route, route));
        Activity.Current?.SetTag(Ours.CacheOutcome, outcome);
    }

    /// <summary>The submit door's cache lookup: a hit, a miss (cacheable, not stored), or a bypass (not cacheable).</summary>
    public void CacheLookedUp(bool hit, bool cacheable, string route = Routes.Chat) =>
        CacheOutcome(hit ? CacheOutcomes.Hit : cacheable ? CacheOutcomes.Miss : CacheOutcomes.Bypass, route);

    /// <summary>A paid call is recorded: its ledger cost on the counter and the job's span, with the retries it took.</summary>
    public void Recorded(Job job, string model, long costMicros)
    {
        // The job's span (the worker's or the interactive door's), around the recording span.
        var span = Activity.Current is { OperationName: Spans.Record } recording ? recording.Parent : Activity.Current;
        Cost(costMicros, model, span?.GetTagItem(Ours.Route) as string ?? Routes.Chat);
        span?.SetTag(Ours.CostMicros, costMicros);
        span?.SetTag(Ours.RetryCount, Math.Max(0, job.ModelCalls - 1));
    }

    public void BudgetRefused(string budget)
    {
        budgetRefusals.Add(1, new KeyValuePair<string, object?>(Ours.Budget, budget));
        Activity.Current?.SetTag(Ours.Budget, budget);
    }

    /// <summary>For the rate limiter (issue 13): call once per refused request with the limit's name.</summary>
    public void RateLimitRefused(string limit)
    {
        rateLimitRefusals.Add(1, new KeyValuePair<string, object?>(Ours.RateLimit, limit));
        Activity.Current?.SetTag(Ours.RateLimit, limit);
    }

    public void QueueWait(TimeSpan wait) => queueWait.Record(Positive(wait).TotalSeconds);

    public void TimeToFirstToken(TimeSpan elapsed, in TagList tags) => timeToFirstChunk.Record(Positive(elapsed).TotalSeconds, tags);

    /// <summary>One upstream answer: its HTTP status (0 when none came back) and, on failure, the error type.</summary>
    public void UpstreamStatus(int status, string? errorType, in TagList tags)
    {
        var withStatus = tags;
        withStatus.Add(HttpStatusCode, status);
        if (errorType is not null)
        {
            withStatus.Add(ErrorType, errorType);
        }
        upstreamResponses.Add(1, withStatus);
        Health.Upstream(status, errorType);
    }

    /// <summary>What a recorded model call cost (the ledger's figure), counted and set on the current span.</summary>
    public void Cost(long micros, string model, string route = Routes.Chat)
    {
        cost.Add(micros, new(GenAi.ResponseModel, model), new(Ours.Route, route));
        Activity.Current?.SetTag(Ours.CostMicros, micros);
        Health.Cost(micros);
    }

    public void CircuitOpened()
    {
        circuitOpened.Add(1);
        Health.CircuitOpened();
    }

    public void PoisonMessage()
    {
        poisonMessages.Add(1);
        Health.Poisoned();
    }

    internal void TelemetryDropped(int spans) => telemetryDropped.Add(spans);

    internal void RecordDuration(TimeSpan elapsed, in TagList tags) => operationDuration.Record(elapsed.TotalSeconds, tags);

    internal void RecordTokens(long tokens, string type, in TagList tags)
    {
        var typed = tags;
        typed.Add(GenAi.TokenType, type);
        tokenUsage.Record(tokens, typed);
    }

    /// <summary>The context of the span that sent <paramref name="message"/>, or default when it carries none (or a bad one).</summary>
    private static ActivityContext Sender(JobMessage message) =>
        message.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, message.TraceState, isRemote: true, out var sent)
            ? sent
            : default;

    private static TimeSpan Positive(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;

    public void Dispose()
    {
        ActivitySource.Dispose();
        Meter.Dispose();
    }
}
