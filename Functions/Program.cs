using Azure.Monitor.OpenTelemetry.Exporter;
using Functions;
using Functions.Core;
using Functions.Core.Settings;
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
builder.Configuration.TreatEmptyAsUnset();

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

var host = builder.Build();
try
{
    // A bad setting stops the worker with one line naming it (as Functions.Local does), not a page of stack traces.
    await StartupCheck.RunAsync(host.Services, CancellationToken.None);
}
catch (Exception ex) when (StartupFailure.Describe(ex) is { } line)
{
    await Console.Error.WriteLineAsync(line);
    return 1;
}
await host.RunAsync();
return 0;
