using System.Diagnostics;
using Functions.Core.Telemetry;
using OpenTelemetry;

namespace Functions.Tests.Telemetry;

/// <summary>An exporter that hangs costs the code ending spans nothing: the queue is bounded and overflow is counted.</summary>
public sealed class BoundedExportProcessorTests
{
    [Fact]
    public void AHungExporter_NeverBlocksEndingASpan_AndOverflowIsDroppedAndCounted()
    {
        using var release = new ManualResetEventSlim();
        var exporter = new HangingExporter(release);
        var reported = 0;
        using var processor = new BoundedExportProcessor(exporter, capacity: 4, dropped: count => Interlocked.Add(ref reported, count));

        for (var i = 0; i < 50; i++)
        {
            processor.OnEnd(Recorded("span " + i)); // returns at once however stuck the exporter is
        }

        // At most the queue's 4 plus one batch the worker holds can be kept; everything else is dropped.
        Assert.InRange(processor.Dropped, 50 - 8, 50);
        Assert.Equal(processor.Dropped, reported);
        release.Set();
        Assert.True(processor.ForceFlush(5000));
        Assert.Equal(50 - processor.Dropped, exporter.Exported);
    }

    [Fact]
    public void ConsoleSummary_IsOneReadableLinePerModelCall_WithTheTraceId()
    {
        using var source = new ActivitySource("console-summary-test");
        using var listener = new ActivityListener
        {
            ShouldListenTo = candidate => ReferenceEquals(candidate, source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var span = source.StartActivity("chat gpt-4.1-mini", ActivityKind.Client)!;
        span.SetTag(TelemetryNames.GenAi.OperationName, "chat");
        span.SetTag(TelemetryNames.GenAi.ResponseModel, "gpt-4.1-mini-2025-04-14");
        span.SetTag(TelemetryNames.GenAi.UsageInputTokens, 21);
        span.SetTag(TelemetryNames.GenAi.UsageOutputTokens, 8);
        span.SetTag(TelemetryNames.GenAi.ResponseTimeToFirstChunk, 0.25);
        span.Stop();

        var line = ConsoleSummaryExporter.Line(span);

        Assert.StartsWith("telemetry: chat gpt-4.1-mini -> gpt-4.1-mini-2025-04-14: ", line);
        Assert.Contains("21 in / 8 out tokens, first chunk 250 ms", line);
        Assert.EndsWith($"[trace {span.TraceId.ToHexString()[..12]}]", line);
    }

    private static Activity Recorded(string name)
    {
        var span = new Activity(name);
        span.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        return span;
    }

    private sealed class HangingExporter(ManualResetEventSlim release) : BaseExporter<Activity>
    {
        private int exported;

        public int Exported => Volatile.Read(ref exported);

        public override ExportResult Export(in Batch<Activity> batch)
        {
            release.Wait();
            Interlocked.Add(ref exported, (int)batch.Count);
            return ExportResult.Success;
        }
    }
}
