using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Functions.Core.Callers;
using Functions.Core.Jobs;

// Everything runs here: Azurite on free ports, the offline model (answers at once, so a miss costs only the pipeline),
// and the local host on a free port. Numbers are wall-clock on this machine, through HTTP and Azurite.
const int Misses = 200, Hits = 1_000, Replayed = 1_000, DistinctPrompts = 100, ReplayClients = 8, Seed = 42;

await using var host = await BenchmarkHost.StartAsync(new Dictionary<string, string?>
{
    ["Callers:TrustPrincipalHeader"] = "true",
    ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
});
var app = host.App;
var http = host.Http;

async Task<(HttpStatusCode Status, JsonElement Body, double Ms)> SubmitAsync(string prompt)
{
    var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
    {
        Content = JsonContent.Create(new { messages = new[] { new { role = "user", content = prompt } }, temperature = 0 }),
    };
    request.Headers.Add(CallerResolver.PrincipalIdHeader, "benchmark-user");
    var started = Stopwatch.GetTimestamp();
    using var response = await http.SendAsync(request);
    var body = await response.Content.ReadFromJsonAsync<JsonElement>();
    return (response.StatusCode, body, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
}

async Task WaitForTerminalAsync(string id)
{
    while (true)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/{id}");
        request.Headers.Add(CallerResolver.PrincipalIdHeader, "benchmark-user");
        using var response = await http.SendAsync(request);
        var job = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (job.GetProperty("status").GetString() is "Succeeded" or "Failed")
        {
            return;
        }
        await Task.Delay(20);
    }
}

static string Percentiles(List<double> ms)
{
    ms.Sort();
    double At(double p) => ms[Math.Max(0, (int)Math.Ceiling(p * ms.Count) - 1)];
    return $"p50 {At(0.50),6:F2} ms   p95 {At(0.95),6:F2} ms   p99 {At(0.99),6:F2} ms   (n = {ms.Count})";
}

// Warm-up: JIT, connections, tables.
for (var i = 0; i < 20; i++)
{
    await SubmitAsync($"warm-up {i % 2}");
}

// 1. Misses: distinct deterministic prompts, each a 202 (job row, queue message; the worker stores the answer later).
var missLatencies = new List<double>();
for (var i = 0; i < Misses; i++)
{
    var (status, _, ms) = await SubmitAsync($"miss prompt {i}");
    if (status != HttpStatusCode.Accepted)
    {
        throw new InvalidOperationException($"Expected 202 for a miss, got {(int)status}.");
    }
    missLatencies.Add(ms);
}

// 2. Hits: one answered prompt asked again and again, each a 200 from the cache (point read, savings row).
var primed = await SubmitAsync("What are your opening hours?");
await WaitForTerminalAsync(primed.Body.GetProperty("id").GetString()!);
var hitLatencies = new List<double>();
for (var i = 0; i < Hits; i++)
{
    var (status, _, ms) = await SubmitAsync("What are your opening hours?");
    if (status != HttpStatusCode.OK)
    {
        throw new InvalidOperationException($"Expected 200 for a hit, got {(int)status}.");
    }
    hitLatencies.Add(ms);
}

// 3. Replay: requests drawn (seeded) from a fixed set of prompts by concurrent clients, as an SPA's users would send them.
var jobs = app.Services.GetRequiredService<JobTable>().Client;
var attemptsBefore = await ModelCallsAsync(jobs);
var random = new Random(Seed);
var prompts = Enumerable.Range(0, Replayed).Select(_ => $"FAQ #{random.Next(DistinctPrompts)}").ToArray();
var next = -1;
var replayHits = 0;
var accepted = new System.Collections.Concurrent.ConcurrentBag<string>();
var replayClock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, ReplayClients).Select(async _ =>
{
    for (var i = Interlocked.Increment(ref next); i < prompts.Length; i = Interlocked.Increment(ref next))
    {
        var (status, body, _) = await SubmitAsync(prompts[i]);
        if (status == HttpStatusCode.OK)
        {
            Interlocked.Increment(ref replayHits);
        }
        else
        {
            accepted.Add(body.GetProperty("id").GetString()!);
        }
    }
}));
await Task.WhenAll(accepted.Select(WaitForTerminalAsync));
replayClock.Stop();
var replayModelCalls = await ModelCallsAsync(jobs) - attemptsBefore;

Console.WriteLine();
Console.WriteLine("Response cache through HTTP, local host + Azurite + zero-latency offline model");
Console.WriteLine($"  miss submit (202)   {Percentiles(missLatencies)}");
Console.WriteLine($"  cache hit   (200)   {Percentiles(hitLatencies)}");
Console.WriteLine($"Replay of {Replayed} requests from {DistinctPrompts} prompts (seed {Seed}), {ReplayClients} concurrent clients:");
Console.WriteLine($"  distinct prompts drawn      {prompts.Distinct().Count()}");
Console.WriteLine($"  answered 200 from cache     {replayHits} ({100.0 * replayHits / Replayed:F1} %)");
Console.WriteLine($"  accepted 202                {accepted.Count} (of which joined an identical call in flight: {accepted.Count - replayModelCalls})");
Console.WriteLine($"  model calls                 {replayModelCalls} (without the cache: {Replayed})");
Console.WriteLine($"  wall time                   {replayClock.Elapsed.TotalSeconds:F1} s");


// Every model call first marks its job Running with one more model call; jobs answered by the cache never do.
static async Task<long> ModelCallsAsync(TableClient jobs) =>
    await jobs.QueryAsync<TableEntity>(select: ["ModelCalls"]).Select(job => (long)(job.GetInt32("ModelCalls") ?? 0)).SumAsync();
