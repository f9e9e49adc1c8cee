using System.Collections.Concurrent;
using System.Diagnostics;
using Functions.Core.Spend;
using Functions.Core.Telemetry;
using Functions.Local.Development;
using Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Metrics;
using static Functions.Core.Telemetry.TelemetryNames;

namespace Functions.Tests.Telemetry;

/// <summary>
/// The real local host with the in-memory exporters beside its own wiring: the span tree of a queued job, the GenAI
/// metrics against the spend ledger, redaction of every exported signal, and the OTLP exporter.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TelemetryEndToEndTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    private const string ApiKey = "sk-test-Zq81SECRETkey";
    private readonly TelemetryCapture capture = new();

    private Task<TestHost> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["OpenAI:ApiKey"] = ApiKey };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }
        return TestHost.StartAsync(Azurite, Model.BaseUrl, all, capture.AddTo);
    }

    [Fact]
    public async Task AQueuedJob_IsOneTrace_SubmitQueueWaitWorkerModelCallRecording()
    {
        await using var host = await StartAsync();
        Model.Enqueue(FakeReply.Completion("Paris.", promptTokens: 21, completionTokens: 8, model: "gpt-4.1-mini-2025-04-14"));

        var id = await host.SubmitAcceptedAsync(TestHost.UserMessage("Capital of France?"), caller: "alice");
        await host.WaitForTerminalAsync(id, caller: "alice");
        var process = await capture.WaitForSpanAsync(span => span.OperationName == Spans.Process && (string?)span.GetTagItem(Ours.JobId) == id);

        var trace = capture.Spans.Where(span => span.TraceId == process.TraceId).ToList();
        // The root: the host's request span (the loopback model's own server span, in this process, joins the trace too).
        var request = Assert.Single(trace, span => span.Kind == ActivityKind.Server && span.Parent is null && span.ParentSpanId == default);
        var submit = Assert.Single(trace, span => span.OperationName == Spans.Submit);
        var wait = Assert.Single(trace, span => span.OperationName == Spans.QueueWait);
        var call = Assert.Single(trace, span => span.Kind == ActivityKind.Client);
        var record = Assert.Single(trace, span => span.OperationName == Spans.Record);
        Assert.Equal("POST", request.GetTagItem("http.request.method"));
        Assert.Equal(request.SpanId, submit.ParentSpanId);
        Assert.Equal(submit.SpanId, wait.ParentSpanId);
        Assert.Equal(wait.SpanId, process.ParentSpanId);
        Assert.Equal(process.SpanId, call.ParentSpanId);
        Assert.Equal(process.SpanId, record.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.True(wait.StartTimeUtc >= submit.StartTimeUtc.AddMilliseconds(-50), "the wait starts when the message was sent");

        // Our attributes on the job's span: the caller's hash (never the id), cost, retries, route.
        Assert.Equal(CallerHash.Of("alice"), process.GetTagItem(Ours.CallerHash));
        Assert.Equal(CallerHash.Of("alice"), submit.GetTagItem(Ours.CallerHash));
        Assert.Equal(Routes.Chat, process.GetTagItem(Ours.Route));
        Assert.Equal(0, process.GetTagItem(Ours.RetryCount));
        Assert.True((long)process.GetTagItem(Ours.CostMicros)! > 0);
        Assert.Equal(CacheOutcomes.Bypass, submit.GetTagItem(Ours.CacheOutcome));

        // The GenAI span of the worker's call: streamed, so the job's stream shows the answer as it is written.
        Assert.Equal("chat gpt-4.1-mini", call.DisplayName);
        Assert.Equal("chat", call.GetTagItem(GenAi.OperationName));
        Assert.Equal("openai", call.GetTagItem(GenAi.ProviderName));
        Assert.Equal("gpt-4.1-mini", call.GetTagItem(GenAi.RequestModel));
        Assert.Equal("gpt-4.1-mini-2025-04-14", call.GetTagItem(GenAi.ResponseModel));
        Assert.Equal(21, call.GetTagItem(GenAi.UsageInputTokens));
        Assert.Equal(8, call.GetTagItem(GenAi.UsageOutputTokens));
        Assert.Equal(["stop"], (string[])call.GetTagItem(GenAi.ResponseFinishReasons)!);
        Assert.Equal("127.0.0.1", call.GetTagItem(ServerAddress));
        Assert.Equal(true, call.GetTagItem(Ours.Streamed));
        Assert.Equal(CallerHash.Of("alice"), call.GetTagItem(Ours.CallerHash));
        Assert.Null(call.GetTagItem(ErrorType));
    }

    [Fact]
    public async Task AStreamedInteractiveCall_IsOneTrace_WithAStreamedGenAiSpan_AndItsCostOnTheDoorsSpan()
    {
        await using var host = await StartAsync();
        Model.Enqueue(FakeReply.Completion("streamed words for you", promptTokens: 14, completionTokens: 4, model: "gpt-4.1-mini-2025-04-14"));

        using var response = await host.Client.SendAsync(ChatCompletions.ChatCompletionsClient.Request(
            ChatCompletions.ChatCompletionsClient.User("stream it", stream: true), caller: "dora"));
        await response.Content.ReadAsStringAsync();
        var run = await capture.WaitForSpanAsync(span => span.OperationName == Spans.Complete
            && (string?)span.GetTagItem(Ours.CallerHash) == CallerHash.Of("dora"));

        var trace = capture.Spans.Where(span => span.TraceId == run.TraceId).ToList();
        var submit = Assert.Single(trace, span => span.OperationName == Spans.Submit);
        var call = Assert.Single(trace, span => span.Kind == ActivityKind.Client);
        var record = Assert.Single(trace, span => span.OperationName == Spans.Record);
        Assert.Equal(Routes.ChatCompletions, submit.GetTagItem(Ours.Route));
        Assert.Equal(run.SpanId, call.ParentSpanId);
        Assert.Equal(run.SpanId, record.ParentSpanId);
        Assert.Equal(true, call.GetTagItem(Ours.Streamed));
        Assert.Equal("gpt-4.1-mini-2025-04-14", call.GetTagItem(GenAi.ResponseModel));
        Assert.Equal((14, 4), (call.GetTagItem(GenAi.UsageInputTokens), call.GetTagItem(GenAi.UsageOutputTokens)));
        Assert.Equal(["stop"], (string[])call.GetTagItem(GenAi.ResponseFinishReasons)!);
        Assert.True((double)call.GetTagItem(GenAi.ResponseTimeToFirstChunk)! > 0);
        Assert.Equal(CallerHash.Of("dora"), call.GetTagItem(Ours.CallerHash));
        Assert.True((long)run.GetTagItem(Ours.CostMicros)! > 0);
        capture.Flush(host.App.Services);
        Assert.Contains(capture.Points(Metrics.TimeToFirstChunk), point => point.GetHistogramCount() > 0);
    }

    [Fact]
    public async Task ARetriedJob_StaysInOneTrace_WithAnErrorTypedSpanPerUpstreamCall()
    {
        await using var host = await StartAsync();
        Model.Enqueue(FakeReply.Error(503, "overloaded", "server_error"), FakeReply.Completion("ok"));

        var id = await host.SubmitAcceptedAsync(TestHost.UserMessage("retry me"));
        await host.WaitForTerminalAsync(id);
        var process = await capture.WaitForSpanAsync(span => span.OperationName == Spans.Process && (string?)span.GetTagItem(Ours.JobId) == id);

        var calls = capture.Spans.Where(span => span.TraceId == process.TraceId && span.Kind == ActivityKind.Client)
            .OrderBy(span => span.StartTimeUtc).ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal("503", calls[0].GetTagItem(ErrorType));
        Assert.Equal(503, calls[0].GetTagItem(HttpStatusCode));
        Assert.Equal(ActivityStatusCode.Error, calls[0].Status);
        Assert.Null(calls[1].GetTagItem(ErrorType));
        Assert.Equal(1, process.GetTagItem(Ours.RetryCount));
    }

    [Fact]
    public async Task TokenUsageAndCostMetrics_EqualTheLedger()
    {
        await using var host = await StartAsync();
        var responseModel = "ledger-check-" + Guid.NewGuid().ToString("N")[..8];
        Model.Enqueue(
            FakeReply.Completion("one", promptTokens: 120, completionTokens: 30, model: responseModel),
            FakeReply.Completion("two", promptTokens: 7, completionTokens: 900, model: responseModel));

        var first = await host.SubmitAcceptedAsync(TestHost.UserMessage("first"));
        await host.WaitForTerminalAsync(first);
        var second = await host.SubmitAcceptedAsync(TestHost.UserMessage("second"));
        await host.WaitForTerminalAsync(second);
        await capture.WaitForSpanAsync(span => span.OperationName == Spans.Process && (string?)span.GetTagItem(Ours.JobId) == second);
        capture.Flush(host.App.Services);

        var ledger = new List<LedgerEntry>();
        await foreach (var entry in host.Service<SpendLedger>().ReadDayAsync(SpendKeys.DayOf(DateTimeOffset.UtcNow), CancellationToken.None))
        {
            if (entry.Model == responseModel)
            {
                ledger.Add(entry);
            }
        }
        Assert.Equal(2, ledger.Count);

        bool OfThisTest(MetricPoint point, string? tokenType = null)
        {
            var (model, type) = ((string?)null, (string?)null);
            foreach (var tag in point.Tags)
            {
                model = tag.Key == GenAi.ResponseModel ? (string?)tag.Value : model;
                type = tag.Key == GenAi.TokenType ? (string?)tag.Value : type;
            }
            return model == responseModel && (tokenType is null || type == tokenType);
        }
        var input = Assert.Single(capture.Points(Metrics.TokenUsage), point => OfThisTest(point, "input"));
        var output = Assert.Single(capture.Points(Metrics.TokenUsage), point => OfThisTest(point, "output"));
        var cost = Assert.Single(capture.Points(Metrics.Cost), point => OfThisTest(point));
        var duration = Assert.Single(capture.Points(Metrics.OperationDuration), point => OfThisTest(point));

        Assert.Equal(ledger.Sum(entry => entry.Usage.InputTokens), (long)input.GetHistogramSum());
        Assert.Equal(2, input.GetHistogramCount());
        Assert.Equal(ledger.Sum(entry => entry.Usage.OutputTokens), (long)output.GetHistogramSum());
        Assert.Equal(ledger.Sum(entry => entry.CostMicros), cost.GetSumLong());
        Assert.Equal(2, duration.GetHistogramCount());
        // The conventions' bucket boundaries: tokens in powers of four, durations doubling from 10 ms.
        Assert.Equal(ServerlessTelemetry.TokenBuckets.Select(bound => (double)bound), BucketBounds(input));
        Assert.Equal(ServerlessTelemetry.DurationBuckets, BucketBounds(duration));
    }

    [Fact]
    public async Task NoKeyPromptOrCallerId_InAnyExportedSpanMetricOrLog()
    {
        const string caller = "carol.secret@example.com";
        const string prompt = "my confidential prompt about project nightingale";
        await using var host = await StartAsync(new() { ["Budgets:GlobalDailyUsd"] = "100" });
        Model.Enqueue(FakeReply.Error(429, "rate_limit_exceeded", "requests",
            new Dictionary<string, string> { ["retry-after-ms"] = "10" }));

        var id = await host.SubmitAcceptedAsync(new { messages = new[] { new { role = "user", content = prompt } }, temperature = 0 }, caller);
        await host.WaitForTerminalAsync(id, caller);
        await capture.WaitForSpanAsync(span => span.OperationName == Spans.Process && (string?)span.GetTagItem(Ours.JobId) == id
            && span.GetTagItem(Ours.CostMicros) is not null);
        using (await host.SubmitAsync(new { messages = new[] { new { role = "user", content = prompt } }, temperature = 0 }, caller))
        {
            // the same request again: a cache hit, logged and counted
        }
        capture.Flush(host.App.Services);

        var exported = capture.Dump();
        Assert.Contains(CallerHash.Of(caller), exported); // the caller is there, as its hash
        Assert.Contains(Spans.ModelCall("gpt-4.1-mini"), exported);
        Assert.Contains("log ", exported); // logs were captured too
        Assert.DoesNotContain(ApiKey, exported);
        Assert.DoesNotContain(caller, exported, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("nightingale", exported, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task MessageContent_IsRecordedOnlyWhenOptedIn()
    {
        await using var host = await StartAsync(new() { ["Telemetry:RecordMessageContent"] = "true" });

        var id = await host.SubmitAcceptedAsync(TestHost.UserMessage("opted-in prompt"));
        await host.WaitForTerminalAsync(id);
        var process = await capture.WaitForSpanAsync(span => span.OperationName == Spans.Process && (string?)span.GetTagItem(Ours.JobId) == id);
        var call = Assert.Single(capture.Spans, span => span.TraceId == process.TraceId && span.Kind == ActivityKind.Client);

        Assert.Contains("opted-in prompt", (string)call.GetTagItem(GenAi.InputMessages)!);
        Assert.Contains("echo: opted-in prompt", (string)call.GetTagItem(GenAi.OutputMessages)!);
    }

    [Fact]
    public async Task OtlpEndpointSet_ExportsTracesAndMetricsThere()
    {
        var received = new ConcurrentQueue<string>();
        var (collector, address) = await LoopbackApp.StartAsync(app => app.MapPost("/v1/{signal}", (string signal) =>
        {
            received.Enqueue(signal);
            return Results.Ok();
        }));
        await using var _ = collector;
        await using var host = await StartAsync(new()
        {
            [TelemetryOptions.OtlpEndpointSetting] = address.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });

        var id = await host.SubmitAcceptedAsync(TestHost.UserMessage("to the collector"));
        await host.WaitForTerminalAsync(id);
        await capture.WaitForSpanAsync(span => span.OperationName == Spans.Process && (string?)span.GetTagItem(Ours.JobId) == id);
        capture.Flush(host.App.Services);

        Assert.Contains("traces", received);
        Assert.Contains("metrics", received);
    }

    [Fact]
    public async Task ACollectorThatNeverAnswers_CostsRequestsNothing()
    {
        var (collector, address) = await LoopbackApp.StartAsync(app => app.MapPost("/v1/{signal}",
            async (HttpContext context) => await Task.Delay(Timeout.Infinite, context.RequestAborted)));
        await using var _ = collector;
        await using var host = await StartAsync(new()
        {
            [TelemetryOptions.OtlpEndpointSetting] = address.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["Telemetry:ExportQueueSize"] = "16",
            ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "500", // so the host's shutdown gives up on the collector quickly
        });

        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await host.SubmitAcceptedAsync(TestHost.UserMessage($"hung collector {i}")));
        }
        foreach (var id in ids)
        {
            Assert.Equal("Succeeded", (await host.WaitForTerminalAsync(id)).GetProperty("status").GetString());
        }
    }

    private static List<double> BucketBounds(MetricPoint point)
    {
        var bounds = new List<double>();
        foreach (var bucket in point.GetHistogramBuckets())
        {
            if (!double.IsPositiveInfinity(bucket.ExplicitBound))
            {
                bounds.Add(bucket.ExplicitBound);
            }
        }
        return bounds;
    }
}
