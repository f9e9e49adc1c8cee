using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// Everything a host exports (spans, metrics, logs), captured by the in-memory exporters alongside whatever the host
/// wires itself. Spans of other tests running at the same time may appear: look spans up by trace or job id.
/// </summary>
public sealed class TelemetryCapture
{
    private readonly List<Activity> spans = [];
    private readonly List<MetricSnapshot> metrics = [];
    private readonly List<LogRecord> logs = [];

    /// <summary>For <see cref="TestHost.StartAsync"/>'s configure: adds the exporters and lets Information logs through.</summary>
    public void AddTo(WebApplicationBuilder builder)
    {
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
        builder.Services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddInMemoryExporter(metrics));
        builder.Services.ConfigureOpenTelemetryLoggerProvider(logging => logging.AddInMemoryExporter(logs));
    }

    public IReadOnlyList<Activity> Spans => Snapshot(spans);

    /// <summary>A copy of a list the exporters append to from their own threads (without our lock): retried if it moved.</summary>
    private static List<T> Snapshot<T>(List<T> items)
    {
        while (true)
        {
            try
            {
                return [.. items];
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                Thread.Yield();
            }
        }
    }

    /// <summary>Exports the metrics collected so far (cumulative) and the logs still buffered.</summary>
    public void Flush(IServiceProvider services)
    {
        services.GetRequiredService<MeterProvider>().ForceFlush();
        services.GetRequiredService<TracerProvider>().ForceFlush();
        services.GetService<LoggerProvider>()?.ForceFlush();
    }

    /// <summary>The latest export of each metric point of <paramref name="name"/>.</summary>
    public IReadOnlyList<MetricPoint> Points(string name)
    {
        return Snapshot(metrics).LastOrDefault(metric => metric.Name == name)?.MetricPoints ?? [];
    }

    /// <summary>Polls until a span matching <paramref name="match"/> has ended (a worker's span ends after the job row is written).</summary>
    public async Task<Activity> WaitForSpanAsync(Func<Activity, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            if (Spans.FirstOrDefault(match) is { } span)
            {
                return span;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("No matching span was exported.");
            }
            await Task.Delay(25);
        }
    }

    /// <summary>Every exported span, metric point and log record as text: what a telemetry store would hold.</summary>
    public string Dump()
    {
        var text = new StringBuilder();
        foreach (var span in Spans)
        {
            text.AppendLine($"span {span.DisplayName} {span.OperationName} {span.Kind} {span.Status} {span.StatusDescription}");
            foreach (var tag in span.TagObjects)
            {
                text.AppendLine($"  {tag.Key}={Format(tag.Value)}");
            }
            foreach (var spanEvent in span.Events)
            {
                text.AppendLine($"  event {spanEvent.Name} {string.Join(",", spanEvent.Tags.Select(tag => $"{tag.Key}={Format(tag.Value)}"))}");
            }
            foreach (var baggage in span.Baggage)
            {
                text.AppendLine($"  baggage {baggage.Key}={baggage.Value}");
            }
        }
        {
            foreach (var metric in Snapshot(metrics))
            {
                foreach (var point in metric.MetricPoints)
                {
                    var tags = new List<string>();
                    foreach (var tag in point.Tags)
                    {
                        tags.Add($"{tag.Key}={Format(tag.Value)}");
                    }
                    text.AppendLine($"metric {metric.Name} {string.Join(",", tags)}");
                }
            }
        }
        {
            foreach (var log in Snapshot(logs))
            {
                text.AppendLine($"log {log.CategoryName} {log.EventId} {log.Body} {log.FormattedMessage} {log.Exception}");
                foreach (var attribute in log.Attributes ?? [])
                {
                    text.AppendLine($"  {attribute.Key}={Format(attribute.Value)}");
                }
            }
        }
        return text.ToString();
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        string text => text,
        System.Collections.IEnumerable items => string.Join(",", items.Cast<object?>().Select(Format)),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
