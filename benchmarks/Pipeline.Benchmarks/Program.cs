// Usage: dotnet run -c Release --project benchmarks/Pipeline.Benchmarks [-- submits jobs]
// Starts its own in-memory Azurite, the offline (zero-latency) model and the local host, then measures
//  1. submit latency: sequential POST /api/chat → 202, against Azurite;
//  2. end-to-end job latency: POST, then poll GET every 5 ms until Succeeded (client view), and the job's own
//     createdAt → completedAt (server view, free of polling granularity).
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

var submits = args.Length > 0 ? int.Parse(args[0]) : 1000;
var jobs = args.Length > 1 ? int.Parse(args[1]) : 200;

await using var host = await BenchmarkHost.StartAsync();
var http = host.Http;

var body = new { messages = new[] { new { role = "user", content = "How long does a submit take?" } } };
async Task<string> SubmitAsync()
{
    using var response = await http.PostAsJsonAsync("/api/chat", body);
    response.EnsureSuccessStatusCode();
    return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
}
async Task<JsonElement> WaitAsync(string id, int pollMs)
{
    while (true)
    {
        var job = await http.GetFromJsonAsync<JsonElement>($"/api/chat/{id}");
        if (job.GetProperty("status").GetString() is "Succeeded" or "Failed")
        {
            return job;
        }
        await Task.Delay(pollMs);
    }
}

for (var i = 0; i < 50; i++)
{
    await SubmitAsync(); // warm-up: JIT, connection pool, Azurite
}

var submitMs = new List<double>(submits);
string last = "";
for (var i = 0; i < submits; i++)
{
    var started = Stopwatch.GetTimestamp();
    last = await SubmitAsync();
    submitMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
}
await WaitAsync(last, 50); // drain the backlog before timing jobs one at a time

var clientMs = new List<double>(jobs);
var serverMs = new List<double>(jobs);
for (var i = 0; i < jobs; i++)
{
    var started = Stopwatch.GetTimestamp();
    var job = await WaitAsync(await SubmitAsync(), 5);
    clientMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    serverMs.Add((job.GetProperty("completedAt").GetDateTimeOffset() - job.GetProperty("createdAt").GetDateTimeOffset()).TotalMilliseconds);
}

Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; Azurite in memory; offline model (zero latency)");
Print($"submit → 202, {submits} sequential", submitMs);
Print($"end to end, client polling every 5 ms, {jobs} sequential jobs", clientMs);
Print($"end to end, server createdAt → completedAt, {jobs} jobs", serverMs);

static void Print(string name, List<double> samples)
{
    samples.Sort();
    double At(double p) => samples[Math.Clamp((int)Math.Ceiling(p * samples.Count) - 1, 0, samples.Count - 1)];
    Console.WriteLine($"{name,-62} p50 {At(0.50),7:F1} ms  p95 {At(0.95),7:F1} ms  p99 {At(0.99),7:F1} ms  max {samples[^1],7:F1} ms");
}
