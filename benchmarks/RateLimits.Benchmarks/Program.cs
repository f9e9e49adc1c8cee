// Rate limits against real parts: Azurite, the local host (Kestrel, queue listeners) and the tests' fake deployment.
//   soak [jobs]     2,000 queued jobs from 4 worker hosts against a deployment enforcing 600 RPM and 60,000 TPM with real
//                   429s; once with upstream pacing on, once off. Prints 429 share, throughput against the limit, outcomes
//                   and storage round trips per call.
//   admission [n]   submit latency and storage round trips per admitted request, per-caller limits off and on.
// Usage: dotnet run -c Release --project benchmarks/RateLimits.Benchmarks [soak|admission] [count]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Functions.Core.Callers;
using Functions.Local;
using Functions.Local.Development;
using Functions.Tests.Infrastructure;

var mode = args.Length > 0 ? args[0] : "soak";
var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : mode == "soak" ? 2_000 : 300;

Console.WriteLine("Starting Azurite (in memory) ...");
await using var azurite = await AzuriteProcess.StartAsync(0, 0, 0, dataFolder: null);
using var storage = new StorageCounter();

if (mode == "soak")
{
    foreach (var pacing in new[] { true, false })
    {
        await SoakAsync(pacing, count);
    }
}
else
{
    await AdmissionAsync(count);
}

async Task SoakAsync(bool pacing, int jobs)
{
    const int Workers = 4, Rpm = 600, Tpm = 60_000, CompletionTokens = 60, MaxTokens = 64;
    await using var model = await FakeOpenAIServer.StartAsync();
    model.EnforceLimits(Rpm, Tpm);
    model.Responder = request => FakeReply.Completion("ok", ChatCompletionJson.PromptTokens(request), CompletionTokens,
        model: ChatCompletionJson.Model(request));
    var names = new Names("soak");
    var hosts = new List<WebApplication>();
    for (var i = 0; i < Workers; i++)
    {
        hosts.Add(await StartHostAsync(model.BaseUrl, names, new Dictionary<string, string?>
        {
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
            ["OpenAI:Models:0:RequestsPerMinute"] = $"{Rpm}",
            ["OpenAI:Models:0:TokensPerMinute"] = $"{Tpm}",
            ["RateLimits:Pacing"] = pacing ? "true" : "false",
        }));
    }
    var clients = hosts.Select(host => new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(host)) }).ToList();
    var jobsTable = new TableServiceClient(azurite.ConnectionString).GetTableClient(names.Jobs);

    Console.WriteLine($"Soak, pacing {(pacing ? "on" : "off")}: {jobs:N0} jobs, {Workers} worker hosts, fake deployment at {Rpm} RPM / {Tpm:N0} TPM " +
                      $"(each call about {CompletionTokens + 20} tokens: the request limit binds)");
    storage.Reset();
    var clock = Stopwatch.StartNew();
    var next = -1;
    await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
    {
        for (var i = Interlocked.Increment(ref next); i < jobs; i = Interlocked.Increment(ref next))
        {
            using var response = await clients[i % Workers].PostAsJsonAsync("/api/chat",
                new { messages = new[] { new { role = "user", content = $"soak job {i}: say something short" } }, maxTokens = MaxTokens });
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw new InvalidOperationException($"submit {i}: {(int)response.StatusCode}");
            }
        }
    }));
    var submitted = clock.Elapsed;

    Dictionary<string, int> statuses;
    while (true)
    {
        statuses = (await jobsTable.QueryAsync<TableEntity>(select: ["Status"]).Select(row => row.GetString("Status")).ToListAsync())
            .GroupBy(status => status).ToDictionary(group => group.Key, group => group.Count());
        var terminal = statuses.GetValueOrDefault("Succeeded") + statuses.GetValueOrDefault("Failed");
        if (terminal == jobs || clock.Elapsed > TimeSpan.FromMinutes(20))
        {
            break;
        }
        await Task.Delay(1000);
    }
    clock.Stop();

    var calls = model.Calls.OrderBy(call => call.At).ToList();
    var answered = calls.Where(call => call.Reply.Status == 200).ToList();
    var refused = calls.Count(call => call.Reply.Status == 429);
    var span = answered[^1].At - answered[0].At;
    var allowed = Rpm + Rpm * span.TotalMinutes; // a full bucket at once, then the refill
    // Steady state: past the first bucket's worth, the rate answered calls went out at against the refill rate.
    var steady = answered.Skip(Rpm).ToList();
    var steadyRate = steady.Count > 1 ? (steady.Count - 1) / (steady[^1].At - steady[0].At).TotalMinutes : double.NaN;
    var tokensPerMinute = steady.Count > 1 ? steady.Sum(call => FakeReply.TokensOf(call.Reply.Body)) / (steady[^1].At - steady[0].At).TotalMinutes : 0;
    Console.WriteLine($"  submitted in {submitted.TotalSeconds:F1} s; all terminal after {clock.Elapsed.TotalSeconds:F1} s");
    Console.WriteLine($"  jobs: {statuses.GetValueOrDefault("Succeeded"):N0} succeeded, {statuses.GetValueOrDefault("Failed"):N0} failed, " +
                      $"{jobs - statuses.GetValueOrDefault("Succeeded") - statuses.GetValueOrDefault("Failed")} unfinished");
    Console.WriteLine($"  upstream calls: {calls.Count:N0}, answered 429: {refused:N0} ({100.0 * refused / calls.Count:F2} %)");
    Console.WriteLine($"  answered calls {answered.Count:N0} over {span.TotalSeconds:F1} s: {100 * answered.Count / allowed:F1} % of what the bucket allows " +
                      $"({allowed:N0}: {Rpm} at once + {Rpm}/min)");
    Console.WriteLine($"  steady state past the first {Rpm}: {steadyRate:F0} calls/min = {100 * steadyRate / Rpm:F1} % of {Rpm} RPM; " +
                      $"{tokensPerMinute:N0} tokens/min ({100 * tokensPerMinute / Tpm:F1} % of {Tpm:N0} TPM)");
    Console.WriteLine($"  storage round trips: {storage.Summary()}; per upstream call: rate-limit table " +
                      $"{(double)storage.Of(names.Rates) / Math.Max(1, calls.Count):F2}, all {(double)storage.Total / Math.Max(1, calls.Count):F2}");
    foreach (var client in clients)
    {
        client.Dispose();
    }
    foreach (var host in hosts)
    {
        await host.StopAsync();
        await host.DisposeAsync();
    }
}

async Task AdmissionAsync(int submits)
{
    await using var model = await OfflineModelServer.StartAsync();
    // Requests only: admission is the only rate-limit storage (a settle has no tokens to correct). With tokens too, the
    // worker's settle after each call adds its correction.
    var requestsOnly = new Dictionary<string, string?> { ["RateLimits:PerCaller:RequestsPerMinute"] = "100000" };
    var both = new Dictionary<string, string?>
    {
        ["RateLimits:PerCaller:RequestsPerMinute"] = "100000", ["RateLimits:PerCaller:TokensPerMinute"] = "100000000",
    };
    foreach (var (label, limits) in new (string, Dictionary<string, string?>)[]
             {
                 ("no per-caller limits", new()),
                 ("RPM, same caller", requestsOnly),
                 ("RPM, new caller each", requestsOnly),
                 ("RPM+TPM, same caller", both),
                 ("RPM+TPM, new caller each", both),
             })
    {
        var names = new Names("adm");
        await using var host = await StartHostAsync(model.BaseUrl, names, limits);
        using var http = new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(host)) };
        var newCaller = label.Contains("new caller", StringComparison.Ordinal);
        async Task<double> SubmitAsync(int i)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
            {
                Content = JsonContent.Create(new { messages = new[] { new { role = "user", content = $"admission {i}" } } }),
            };
            request.Headers.Add(CallerResolver.PrincipalIdHeader, newCaller ? $"caller-{i}" : "benchmark-user");
            var started = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw new InvalidOperationException($"submit {i}: {(int)response.StatusCode}");
            }
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        for (var i = 0; i < 30; i++)
        {
            await SubmitAsync(-1 - i); // warm-up: JIT, connections, the tokenizer
        }
        await Task.Delay(500);
        storage.Reset();
        var latencies = new List<double>();
        for (var i = 0; i < submits; i++)
        {
            latencies.Add(await SubmitAsync(i));
        }
        var rateTrips = storage.Of(names.Rates);
        var all = storage.Total;
        // The queue worker also uses storage as the jobs run; count the submit path: jobs-table inserts, queue sends and rate-limit rows.
        Console.WriteLine($"{label,-26} submit {Percentiles(latencies)}; rate-limit round trips per submit {(double)rateTrips / submits:F2} " +
                          $"(storage in all, worker included: {(double)all / submits:F2})");
        await host.StopAsync();
    }
}

async Task<WebApplication> StartHostAsync(Uri modelUrl, Names names, Dictionary<string, string?> settings)
{
    var all = new Dictionary<string, string?>
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["OpenAI:Endpoint"] = modelUrl.ToString(),
        ["OpenAI:ApiKey"] = "benchmark",
        ["Callers:TrustPrincipalHeader"] = "true",
        ["Storage:ChatQueue"] = names.Queue,
        ["Storage:JobsTable"] = names.Jobs,
        ["Storage:GateTable"] = names.Gate,
        ["RateLimits:Table"] = names.Rates,
        ["Spend:Table"] = names.Spend,
        ["Cache:Table"] = names.Cache,
        ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
    };
    foreach (var (key, value) in settings)
    {
        all[key] = value;
    }
    var builder = LocalHost.CreateBuilder([]);
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Configuration.AddInMemoryCollection(all);
    builder.Logging.SetMinimumLevel(LogLevel.Error);
    var app = await LocalHost.BuildAsync(builder);
    await app.StartAsync();
    return app;
}

static string Percentiles(List<double> ms)
{
    ms.Sort();
    double At(double p) => ms[Math.Max(0, (int)Math.Ceiling(p * ms.Count) - 1)];
    return $"p50 {At(0.50),6:F2} ms  p95 {At(0.95),6:F2} ms  (n = {ms.Count})";
}

/// <summary>One run's tables and queue, shared by its hosts.</summary>
internal sealed class Names(string prefix)
{
    private readonly string suffix = Guid.NewGuid().ToString("N")[..10];
    public string Queue => $"{prefix}q{suffix}";
    public string Jobs => $"{prefix}jobs{suffix}";
    public string Gate => $"{prefix}gate{suffix}";
    public string Rates => $"{prefix}rates{suffix}";
    public string Spend => $"{prefix}spend{suffix}";
    public string Cache => $"{prefix}cache{suffix}";
}

/// <summary>Storage round trips, by the table or queue named in each request's path (HttpClient's own activities).</summary>
internal sealed class StorageCounter : IDisposable
{
    private readonly ConcurrentDictionary<string, long> byResource = new(StringComparer.OrdinalIgnoreCase);
    private readonly ActivityListener listener;

    public StorageCounter()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("url.full") is string url && Uri.TryCreate(url, UriKind.Absolute, out var uri)
                    && uri.AbsolutePath.StartsWith("/devstoreaccount1/", StringComparison.Ordinal))
                {
                    var resource = uri.AbsolutePath["/devstoreaccount1/".Length..].Split('/', '(')[0];
                    byResource.AddOrUpdate(resource, 1, (_, n) => n + 1);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    public long Total => byResource.Values.Sum();

    public long Of(string resource) => byResource.GetValueOrDefault(resource);

    public void Reset() => byResource.Clear();

    public string Summary() => string.Join(", ", byResource.OrderByDescending(pair => pair.Value)
        .Select(pair => $"{Kind(pair.Key)} {pair.Value:N0}"));

    private static string Kind(string resource) =>
        resource.Contains("rates", StringComparison.Ordinal) ? "rate limits" :
        resource.Contains("jobs", StringComparison.Ordinal) ? "jobs" :
        resource.Contains("gate", StringComparison.Ordinal) ? "gate" :
        resource.Contains("spend", StringComparison.Ordinal) ? "spend" :
        resource.Contains("cache", StringComparison.Ordinal) ? "cache" :
        resource.StartsWith("$batch", StringComparison.Ordinal) ? "batches" : "queue";

    public void Dispose() => listener.Dispose();
}
