// Fallback under a scripted outage, against real parts: Azurite, the local host (Kestrel, queue listeners) and two of the
// tests' fakes as two endpoints, "primary" (gpt-4.1-mini) and "backup" (gpt-4o-mini as deployment mini-backup), on one
// route. First [jobs] jobs with both healthy (the baseline), then [jobs] more with the primary answering every call 503.
// Prints outcomes, submit-to-result latency p50/p95 of both runs and the extra the fallback adds, calls per endpoint,
// and the ledger's totals per model beside the fakes' own counts of the answers they gave. Resilience settings are the
// defaults (4 retries from a 500 ms back-off, circuit opens after 5 failures for 30 s).
// Usage: dotnet run -c Release --project benchmarks/Routing.Benchmarks [jobs]
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Core.Spend;
using Functions.Local;
using Functions.Local.Development;
using Functions.Tests.Infrastructure;

var jobs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
const int Concurrency = 20;

Console.WriteLine("Starting Azurite (in memory) ...");
await using var azurite = await AzuriteProcess.StartAsync(0, 0, 0, dataFolder: null);
await using var primary = await FakeOpenAIServer.StartAsync();
await using var backup = await FakeOpenAIServer.StartAsync();
foreach (var fake in new[] { primary, backup })
{
    fake.Responder = request => FakeReply.Completion("ok", ChatCompletionJson.PromptTokens(request), 20, model: ChatCompletionJson.Model(request));
}

var builder = LocalHost.CreateBuilder([]);
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["AzureWebJobsStorage"] = azurite.ConnectionString,
    ["Callers:TrustPrincipalHeader"] = "true",
    ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
    ["OpenAI:Endpoints:0:Name"] = "primary",
    ["OpenAI:Endpoints:0:Url"] = primary.BaseUrl.ToString(),
    ["OpenAI:Endpoints:0:ApiKey"] = "primary-key",
    ["OpenAI:Endpoints:1:Name"] = "backup",
    ["OpenAI:Endpoints:1:Url"] = backup.BaseUrl.ToString(),
    ["OpenAI:Endpoints:1:ApiKey"] = "backup-key",
    ["OpenAI:AllowedModels"] = "gpt-4o-mini",
    ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
    ["OpenAI:Models:0:Endpoint"] = "primary",
    ["OpenAI:Models:1:Name"] = "gpt-4o-mini",
    ["OpenAI:Models:1:Endpoint"] = "backup",
    ["OpenAI:Models:1:Deployment"] = "mini-backup",
    ["Routing:DefaultRoute"] = "chat",
    ["Routing:Routes:0:Name"] = "chat",
    ["Routing:Routes:0:Models:0"] = "gpt-4.1-mini",
    ["Routing:Routes:0:Models:1"] = "gpt-4o-mini",
});
builder.Logging.SetMinimumLevel(LogLevel.Error);
await using var app = await LocalHost.BuildAsync(builder);
await app.StartAsync();
using var http = new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(app)) };

await RunAsync("warm-up (both healthy, not counted)", "warm-up");
var warmUpCalls = (primary.Calls.Count, backup.Calls.Count);
var baseline = await RunAsync("baseline (both healthy)", "healthy");
primary.Responder = _ => FakeReply.Error(503, "server_error", "server_error");
var outage = await RunAsync("outage (primary: every call 503)", "outage");

Console.WriteLine();
Console.WriteLine($"Extra latency of the fallback: p50 +{Percentile(outage, 50) - Percentile(baseline, 50):F0} ms, " +
                  $"p95 +{Percentile(outage, 95) - Percentile(baseline, 95):F0} ms, p99 +{Percentile(outage, 99) - Percentile(baseline, 99):F0} ms, " +
                  $"max +{outage.Max() - baseline.Max():F0} ms");
Console.WriteLine($"(warm-up made {warmUpCalls.Item1} primary and {warmUpCalls.Item2} backup calls; the counts below include them)");
Console.WriteLine($"Calls per endpoint: primary {primary.Calls.Count} ({primary.Calls.Count(c => c.Reply.IsSuccess)} answered), " +
                  $"backup {backup.Calls.Count} ({backup.Calls.Count(c => c.Reply.IsSuccess)} answered)");

var ledger = await app.Services.GetRequiredService<SpendLedger>().ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None)
    .ToListAsync();
Console.WriteLine("Ledger per model (rows, tokens, micro-USD) vs the fakes' answers (calls, tokens):");
foreach (var (model, fake, deployment) in new[] { ("gpt-4.1-mini", primary, "gpt-4.1-mini"), ("gpt-4o-mini", backup, "mini-backup") })
{
    var rows = ledger.Where(entry => entry.Kind == LedgerEntry.Call && entry.Model == model).ToList();
    var answered = fake.Calls.Where(call => call.Reply.IsSuccess && call.Body.GetProperty("model").GetString() == deployment).ToList();
    Console.WriteLine($"  {model,-13} ledger {rows.Count,4} rows, {rows.Sum(r => r.Usage.InputTokens + r.Usage.OutputTokens),7} tokens, " +
                      $"{rows.Sum(r => r.CostMicros),7} µ$ | fake {answered.Count,4} answers, {answered.Sum(c => FakeReply.TokensOf(c.Reply.Body)),7} tokens");
}

async Task<List<double>> RunAsync(string label, string tag)
{
    var latencies = new List<double>();
    var outcomes = new Dictionary<string, int>();
    var models = new Dictionary<string, int>();
    using var gate = new SemaphoreSlim(Concurrency);
    var started = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, jobs).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
            {
                Content = JsonContent.Create(new { messages = new[] { new { role = "user", content = $"{tag} job {i}" } } }),
            };
            request.Headers.Add(CallerResolver.PrincipalIdHeader, $"bench-{i % 10}");
            using var accepted = await http.SendAsync(request);
            var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            while (true)
            {
                var poll = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/{id}");
                poll.Headers.Add(CallerResolver.PrincipalIdHeader, $"bench-{i % 10}");
                using var response = await http.SendAsync(poll);
                var job = await response.Content.ReadFromJsonAsync<JsonElement>();
                var status = job.GetProperty("status").GetString()!;
                if (status is "Succeeded" or "Failed")
                {
                    lock (latencies)
                    {
                        latencies.Add(clock.Elapsed.TotalMilliseconds);
                        outcomes[status] = outcomes.GetValueOrDefault(status) + 1;
                        var model = job.TryGetProperty("result", out var result) ? result.GetProperty("model").GetString()! : "-";
                        models[model] = models.GetValueOrDefault(model) + 1;
                    }
                    return;
                }
                await Task.Delay(20);
            }
        }
        finally
        {
            gate.Release();
        }
    }));
    Console.WriteLine($"{label}: {jobs} jobs in {started.Elapsed.TotalSeconds:F1} s; " +
                      $"{string.Join(", ", outcomes.Select(o => $"{o.Value} {o.Key}"))}; answered by {string.Join(", ", models.Select(m => $"{m.Key} {m.Value}"))}; " +
                      $"latency p50 {Percentile(latencies, 50):F0} ms, p95 {Percentile(latencies, 95):F0} ms, p99 {Percentile(latencies, 99):F0} ms, max {latencies.Max():F0} ms");
    return latencies;
}

static double Percentile(List<double> values, int p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
