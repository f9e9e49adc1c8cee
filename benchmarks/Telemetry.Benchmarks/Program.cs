// Usage: dotnet run -c Release --project benchmarks/Telemetry.Benchmarks [-- requests rounds]
// Starts its own in-memory Azurite, the offline model (no think time) and a loopback OTLP collector that counts what
// it receives, then runs the same load through the local host twice per round: telemetry off (OTEL_SDK_DISABLED=true:
// no spans, no exported metrics or logs) and on (every span, metric and log exported over OTLP http/protobuf). Per mode:
//  1. submit: sequential POST /api/chat → 202;
//  2. interactive: sequential POST /api/v1/chat/completions, JSON and streamed (the stream read to [DONE]);
// and, with telemetry on, what reached the collector per 1,000 requests (after the queued jobs finished).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Functions.Core.Telemetry;
using Functions.Local;
using Functions.Local.Development;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

var requests = args.Length > 0 ? int.Parse(args[0]) : 500;
var rounds = args.Length > 1 ? int.Parse(args[1]) : 2;

await using var azurite = await AzuriteProcess.StartAsync(0, 0, 0, dataFolder: null);
await using var model = await OfflineModelServer.StartAsync(chunkDelay: TimeSpan.Zero);
var received = new ConcurrentDictionary<string, (long Requests, long Bytes)>();
var (collectorApp, collector) = await LoopbackApp.StartAsync(app => app.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
{
    using var buffer = new MemoryStream();
    await context.Request.Body.CopyToAsync(buffer);
    received.AddOrUpdate(signal, (1, buffer.Length), (_, seen) => (seen.Requests + 1, seen.Bytes + buffer.Length));
    return Results.Ok();
}));
await using var _ = collectorApp;

var results = new Dictionary<string, List<double>>();
for (var round = 1; round <= rounds; round++)
{
    foreach (var on in (bool[])[false, true])
    {
        received.Clear();
        var spans = new SpanCounter();
        var builder = LocalHost.CreateBuilder([]);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["OpenAI:Endpoint"] = model.BaseUrl.ToString(),
            ["OpenAI:ApiKey"] = "benchmark",
            ["Storage:ChatQueue"] = $"bench{round}{(on ? "on" : "off")}",
            ["OTEL_SDK_DISABLED"] = on ? "false" : "true",
            [TelemetryOptions.OtlpEndpointSetting] = on ? collector.ToString() : "",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("System", LogLevel.Warning);
        builder.Logging.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(_ => false);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(spans));
        await using var app = await LocalHost.BuildAsync(builder);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(app)) };

        for (var i = 0; i < 50; i++)
        {
            await SubmitAsync(http, i);
            await CompleteAsync(http, stream: i % 2 == 0, i);
        }
        spans.Reset();
        received.Clear();

        var mode = on ? "on " : "off";
        var submitMs = Measure(results, $"submit → 202, telemetry {mode}");
        var jsonMs = Measure(results, $"interactive JSON, telemetry {mode}");
        var streamMs = Measure(results, $"interactive stream, telemetry {mode}");
        string last = "";
        for (var i = 0; i < requests; i++)
        {
            var started = Stopwatch.GetTimestamp();
            last = await SubmitAsync(http, 1000 + i);
            submitMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        for (var i = 0; i < requests; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await CompleteAsync(http, stream: false, 1000 + i);
            jsonMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            started = Stopwatch.GetTimestamp();
            await CompleteAsync(http, stream: true, 1000 + i);
            streamMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        await WaitAsync(http, last);
        if (on && round == rounds)
        {
            await Task.Delay(500); // the last job's spans end just after its row is written
            app.Services.GetRequiredService<TracerProvider>().ForceFlush();
            app.Services.GetRequiredService<MeterProvider>().ForceFlush();
            app.Services.GetService<LoggerProvider>()?.ForceFlush();
            var total = 3.0 * requests; // each loop: a submit (plus its queued job), a JSON and a streamed completion
            Console.WriteLine($"Exported with telemetry on, per 1,000 requests ({total:N0} requests: submits with their jobs, JSON and streamed completions):");
            Console.WriteLine($"  spans: {spans.Count * 1000 / total:N0} ({spans.Count:N0} in all)");
            foreach (var (signal, (posts, bytes)) in received.OrderBy(pair => pair.Key))
            {
                Console.WriteLine($"  {signal,-8} {bytes * 1000 / total / 1024,8:N1} KiB in {posts} OTLP requests" +
                    (signal == "metrics" ? " (metrics are aggregates: their volume grows with time and series, not requests)" : ""));
            }
        }
        await app.StopAsync();
    }
}

Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; Azurite in memory; offline model (no think time); " +
    $"{requests} requests per measurement, {rounds} rounds (off, on) pooled");
foreach (var (name, samples) in results)
{
    Print(name, samples);
}

static List<double> Measure(Dictionary<string, List<double>> results, string name) =>
    results.TryGetValue(name, out var list) ? list : results[name] = [];

static async Task<string> SubmitAsync(HttpClient http, int i)
{
    using var response = await http.PostAsJsonAsync("/api/chat",
        new { messages = new[] { new { role = "user", content = $"How long does submit {i} take?" } } });
    response.EnsureSuccessStatusCode();
    return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
}

static async Task CompleteAsync(HttpClient http, bool stream, int i)
{
    var body = JsonSerializer.Serialize(new
    {
        model = "gpt-4.1-mini", stream,
        messages = new[] { new { role = "user", content = $"Interactive question {i}, {(stream ? "streamed" : "whole")}" } },
    });
    using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions")
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
    };
    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    response.EnsureSuccessStatusCode();
    await response.Content.ReadAsStringAsync(); // to the end of the stream
}

static async Task WaitAsync(HttpClient http, string id)
{
    while ((await http.GetFromJsonAsync<JsonElement>($"/api/chat/{id}")).GetProperty("status").GetString() is not ("Succeeded" or "Failed"))
    {
        await Task.Delay(50);
    }
}

static void Print(string name, List<double> samples)
{
    samples.Sort();
    double At(double p) => samples[Math.Clamp((int)Math.Ceiling(p * samples.Count) - 1, 0, samples.Count - 1)];
    Console.WriteLine($"{name,-40} p50 {At(0.50),7:F2} ms  p95 {At(0.95),7:F2} ms  p99 {At(0.99),7:F2} ms");
}

/// <summary>Counts the spans the host ends (every source it listens to), for the volume per 1,000 requests.</summary>
internal sealed class SpanCounter : BaseProcessor<Activity>
{
    private long count;

    public long Count => Interlocked.Read(ref count);

    public void Reset() => Interlocked.Exchange(ref count, 0);

    public override void OnEnd(Activity data) => Interlocked.Increment(ref count);
}
