using Azure.Monitor.OpenTelemetry.Exporter;
using Functions;
using Functions.Core;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<HttpProblemMiddleware>();
builder.UseMiddleware<Functions.CorsExposedHeaders>();

builder.Services.AddProblemDetails();
builder.Services.AddServerlessCore(builder.Configuration);

// Telemetry is OpenTelemetry end to end (host.json "telemetryMode": "OpenTelemetry"), as the Functions worker guide
// recommends in place of the classic Application Insights SDK: Core's wiring (spans, GenAI metrics, OTLP when
// configured) plus the worker's invocation spans, exported to Application Insights as the app's managed identity
// (the resource has local authentication off, so a connection string alone is refused).
if (!string.IsNullOrWhiteSpace(builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
{
    builder.Services.AddOpenTelemetry()
        .UseFunctionsWorkerDefaults()
        .UseAzureMonitorExporter(options => options.Credential = Functions.AzureMonitorIdentity.Credential(builder.Configuration));
}

builder.Build().Run();
