using Functions;
using Functions.Core;
using Functions.Core.Settings;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<HttpProblemMiddleware>();
builder.UseMiddleware<Functions.CorsExposedHeaders>();
builder.Configuration.TreatEmptyAsUnset();

builder.Services
    .AddApplicationInsightsTelemetryWorkerService()
    .ConfigureFunctionsApplicationInsights();
builder.Logging.KeepInformationForApplicationInsights();

builder.Services.AddProblemDetails();
builder.Services.AddServerlessCore(builder.Configuration);

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
