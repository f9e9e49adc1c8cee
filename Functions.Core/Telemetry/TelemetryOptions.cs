using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Telemetry;

/// <summary>
/// What the backend records about itself and where it goes. Bound from the <c>Telemetry</c> section; the OTLP endpoint
/// is the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> setting (read through configuration, like every other setting).
/// </summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>The standard OpenTelemetry setting: when set, traces, metrics and logs go there over OTLP.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The <c>service.name</c> resource attribute every signal carries.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Telemetry:ServiceName is required.")]
    public string ServiceName { get; set; } = "chat-backend";

    /// <summary>
    /// Record the messages sent to the model and its answer on the model-call span (<c>gen_ai.input.messages</c>,
    /// <c>gen_ai.output.messages</c>). Off by default: prompts are the callers' data. Turn on only where the telemetry
    /// store may hold them.
    /// </summary>
    public bool RecordMessageContent { get; set; }

    /// <summary>One line per request and model call on the console when no OTLP endpoint is set (Functions.Local turns it on).</summary>
    public bool ConsoleSummary { get; set; }

    /// <summary>Spans held for an exporter that is slow or down; past this they are dropped (and counted), never waited for.</summary>
    [Range(16, 65536)]
    public int ExportQueueSize { get; set; } = 2048;
}
