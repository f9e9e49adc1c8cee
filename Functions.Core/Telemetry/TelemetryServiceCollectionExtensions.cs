using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Functions.Core.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// The one telemetry wiring both hosts use: the backend's ActivitySource and Meter, ASP.NET Core's request spans,
    /// and the exporters configuration asks for: OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, else the console
    /// summary when <c>Telemetry:ConsoleSummary</c> is on. A host adds its own on the returned builder (the Functions
    /// app: the worker's defaults and Azure Monitor). Health counters for operational alerts are flushed by every instance.
    /// </summary>
    public static OpenTelemetryBuilder AddServerlessTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddMetrics();
        services.TryAddSingleton<HealthCounters>();
        services.TryAddSingleton<ServerlessTelemetry>();
        services.AddSingleton<HealthCountersTable>();
        services.AddSingleton<HealthCountersFlusher>();
        services.AddHostedService(provider => provider.GetRequiredService<HealthCountersFlusher>());

        var otlpEndpoint = configuration[TelemetryOptions.OtlpEndpointSetting];
        var consoleSummary = configuration.GetValue<bool>($"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.ConsoleSummary)}");
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                configuration[$"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.ServiceName)}"] is { Length: > 0 } name
                    ? name : new TelemetryOptions().ServiceName))
            .WithTracing(tracing => tracing
                .AddSource(TelemetryNames.Source)
                .AddAspNetCoreInstrumentation())
            .WithMetrics(metrics => metrics.AddMeter(TelemetryNames.Source))
            .WithLogging();

        if (!string.IsNullOrWhiteSpace(otlpEndpoint))
        {
            var otlp = new OtlpSettings(new Uri(otlpEndpoint), configuration);
            telemetry
                .WithTracing(tracing => tracing.AddProcessor(provider => Bounded(provider, new OtlpTraceExporter(otlp.For("traces")))))
                .WithMetrics(metrics => metrics.AddOtlpExporter(options => otlp.Apply(options, "metrics")))
                .WithLogging(logging => logging.AddOtlpExporter(options => otlp.Apply(options, "logs")));
        }
        else if (consoleSummary)
        {
            telemetry.WithTracing(tracing => tracing.AddProcessor(provider => Bounded(provider, new ConsoleSummaryExporter(Console.Out))));
        }
        return telemetry;
    }

    private static BoundedExportProcessor Bounded(IServiceProvider provider, BaseExporter<System.Diagnostics.Activity> exporter)
    {
        var telemetry = provider.GetRequiredService<ServerlessTelemetry>();
        return new BoundedExportProcessor(exporter, provider.GetRequiredService<IOptions<TelemetryOptions>>().Value.ExportQueueSize,
            telemetry.TelemetryDropped);
    }

    /// <summary>
    /// The standard OTLP settings, read through configuration (environment variables among its sources):
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> (<c>grpc</c>, the .NET default, or
    /// <c>http/protobuf</c>, which appends <c>/v1/{signal}</c> to the endpoint), <c>OTEL_EXPORTER_OTLP_HEADERS</c> and
    /// <c>OTEL_EXPORTER_OTLP_TIMEOUT</c> (milliseconds per export, 10 s by default).
    /// </summary>
    private sealed class OtlpSettings(Uri endpoint, IConfiguration configuration)
    {
        private readonly OtlpExportProtocol protocol =
            configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] is "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;

        public OtlpExporterOptions For(string signal)
        {
            var options = new OtlpExporterOptions();
            Apply(options, signal);
            return options;
        }

        public void Apply(OtlpExporterOptions options, string signal)
        {
            options.Protocol = protocol;
            options.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf
                ? new Uri(endpoint.ToString().TrimEnd('/') + "/v1/" + signal)
                : endpoint;
            if (configuration["OTEL_EXPORTER_OTLP_HEADERS"] is { Length: > 0 } headers)
            {
                options.Headers = headers;
            }
            if (int.TryParse(configuration["OTEL_EXPORTER_OTLP_TIMEOUT"], out var timeoutMilliseconds) && timeoutMilliseconds > 0)
            {
                options.TimeoutMilliseconds = timeoutMilliseconds;
            }
        }
    }
}
