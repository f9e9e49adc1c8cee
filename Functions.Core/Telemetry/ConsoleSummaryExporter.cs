using System.Diagnostics;
using System.Globalization;
using System.Text;
using OpenTelemetry;
using static Functions.Core.Telemetry.TelemetryNames;

namespace Functions.Core.Telemetry;

/// <summary>
/// The local stand-in for a tracing backend: one readable line per submit, per job delivery and per model call, with
/// the figures an operator looks for (tokens, cost, latency, cache outcome, errors) and the trace id to find it by.
/// Lines carry what the spans carry, so no prompt or caller id ever reaches them.
/// </summary>
public sealed class ConsoleSummaryExporter(TextWriter output) : BaseExporter<Activity>
{
    public override ExportResult Export(in Batch<Activity> batch)
    {
        var lines = new StringBuilder();
        foreach (var span in batch)
        {
            if (Line(span) is { } line)
            {
                lines.AppendLine(line);
            }
        }
        if (lines.Length > 0)
        {
            output.Write(lines.ToString());
            output.Flush();
        }
        return ExportResult.Success;
    }

    internal static string? Line(Activity span)
    {
        var ms = span.Duration.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture);
        var trace = span.TraceId.ToHexString()[..12];
        string? Tag(string name) => span.GetTagItem(name) is { } value ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;
        var error = Tag(ErrorType) is { } type ? $" FAILED {type}" : "";
        return span.OperationName switch
        {
            Spans.Submit => $"telemetry: submit {Tag(Ours.Route)} cache {Tag(Ours.CacheOutcome) ?? "-"}, caller {Tag(Ours.CallerHash) ?? "-"}, " +
                $"{ms} ms{error} [trace {trace}]",
            Spans.Process => $"telemetry: job {Tag(Ours.JobId)} on {Tag(GenAi.RequestModel) ?? "-"}: {ms} ms, cost {Tag(Ours.CostMicros) ?? "0"} micro-USD, " +
                $"retries {Tag(Ours.RetryCount) ?? "0"}, cache {Tag(Ours.CacheOutcome) ?? "-"}{error} [trace {trace}]",
            _ when span.Kind == ActivityKind.Client && Tag(GenAi.OperationName) is not null =>
                $"telemetry: {span.DisplayName} -> {Tag(GenAi.ResponseModel) ?? "-"}: {ms} ms, {Tag(GenAi.UsageInputTokens) ?? "0"} in / " +
                $"{Tag(GenAi.UsageOutputTokens) ?? "0"} out tokens{FirstChunk(Tag(GenAi.ResponseTimeToFirstChunk))}{error} [trace {trace}]",
            _ => null,
        };
    }

    private static string FirstChunk(string? seconds) =>
        seconds is null ? "" : $", first chunk {double.Parse(seconds, CultureInfo.InvariantCulture) * 1000:0} ms";
}
