// Rate limits against real parts: Azurite, the local host (Kestrel, queue listeners) and the tests' fake deployment.
//   soak [jobs]     2,000 queued jobs from 4 worker hosts against a deployment enforcing 600 RPM and 60,000 TPM with real
//                   429s; once with upstream pacing on, once off. Prints 429 share, throughput against the limit, outcomes
//                   and storage round trips per call.
//   admission [n]   submit latency and storage round trips per admitted request, per-caller limits off and on.
// Usage: dotnet run -c Release --project benchmarks/RateLimits.Benchmarks [soak|admission] [count] [on|off|both] [verbose]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Functions.Core;
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
    var which = args.Length > 2 ? args[2] : "both"; // on | off | both
    foreach (var pacing in new[] { true, false }.Where(on => which == "both" || (which == "on") == on))
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
    var modelSettings = new Dictionary<string, string?>
    {
        ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
        ["OpenAI:Models:0:RequestsPerMinute"] = $"{Rpm}",
        ["OpenAI:Models:0:TokensPerMinute"] = $"{Tpm}",
        ["RateLimits:Pacing"] = pacing ? "true" : "false",
    };
    var jobsTable = new TableServiceClient(azurite.ConnectionString).GetTableClient(names.Jobs);

    Console.WriteLine($"Soak, pacing {(pacing ? "on" : "off")}: {jobs:N0} jobs, {Workers} worker hosts, fake deployment at {Rpm} RPM / {Tpm:N0} TPM " +
                      $"(each call about {CompletionTokens + 20} tokens: the request limit binds)");

    // The backlog first, as a launch spike leaves it: every job accepted through the real submit path (HTTP, validation,
    // admission, the job row and its message) by a host whose queue trigger is switched off the way the Functions host
    // switches one off (AzureWebJobs.ProcessChat.Disabled). Only then do the workers start, all four on a full queue.
    var submitClock = Stopwatch.StartNew();
    await using (var submitHost = await StartHostAsync(model.BaseUrl, names,
                     new Dictionary<string, string?>(modelSettings) { [$"AzureWebJobs.{FunctionNames.ProcessChat}.Disabled"] = "true" }))
    {
        using var submitClient = new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(submitHost)) };
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < jobs; i = Interlocked.Increment(ref next))
            {
                using var response = await submitClient.PostAsJsonAsync("/api/chat",
                    new { messages = new[] { new { role = "user", content = $"soak job {i}: say something short" } }, maxTokens = MaxTokens });
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    throw new InvalidOperationException($"submit {i}: {(int)response.StatusCode}");
                }
            }
        }));
        await submitHost.StopAsync();
    }
    var submitted = submitClock.Elapsed;
    if (model.Calls.Count > 0)
    {
        throw new InvalidOperationException("the model was called before the workers started");
    }

    storage.Reset();
    var clock = Stopwatch.StartNew();
    var hosts = new List<WebApplication>();
    for (var i = 0; i < Workers; i++)
    {
        hosts.Add(await StartHostAsync(model.BaseUrl, names, modelSettings));
    }

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
    var succeeded = statuses.GetValueOrDefault("Succeeded");
    var failed = statuses.GetValueOrDefault("Failed");
    Console.WriteLine($"  {jobs:N0} submitted (workers stopped) in {submitted.TotalSeconds:F1} s; workers started on the full queue; " +
                      $"all terminal {clock.Elapsed.TotalSeconds:F1} s after the first worker started");
    Console.WriteLine($"  jobs: {succeeded:N0} succeeded, {failed:N0} failed, {jobs - succeeded - failed} unfinished");
    Console.WriteLine($"  upstream calls: {calls.Count:N0}, answered 429: {refused:N0} ({100.0 * refused / calls.Count:F2} %)");
    if (answered.Count > 1)
    {
        var (steadyFrom, steadyCalls, steadyRate, steadyTokens) = SteadyState(answered, Rpm);
        var first = answered[0].At;
        Console.WriteLine($"  answered calls {answered.Count:N0} from the first at +0 s to the last at +{(answered[^1].At - first).TotalSeconds:F1} s");
        Console.WriteLine(steadyFrom is { } from
            ? $"  steady state (from +{(from - first).TotalSeconds:F1} s, when the fake's full request bucket first ran dry, to the last answered call): " +
              $"{steadyCalls:N0} calls, {steadyRate:F0} calls/min = {100 * steadyRate / Rpm:F1} % of {Rpm} RPM; " +
              $"{steadyTokens:N0} tokens/min ({100 * steadyTokens / Tpm:F1} % of {Tpm:N0} TPM)"
            : "  steady state: the fake's request bucket never ran dry, so the limit was never pressed (no throughput figure)");
    }
    if (calls.Count > 0)
    {
        // The shape over time: answered (and refused) calls per 10 s from the first call.
        var buckets = calls.GroupBy(call => (int)((call.At - calls[0].At).TotalSeconds / 10)).OrderBy(group => group.Key)
            .Select(group => $"{group.Count(call => call.Reply.Status == 200)}" + (group.Any(call => call.Reply.Status == 429)
                ? $"+{group.Count(call => call.Reply.Status == 429)}x429" : ""));
        Console.WriteLine($"  answered per 10 s: {string.Join(" ", buckets)}");
    }
    Console.WriteLine($"  storage round trips (workers): {storage.Summary()}; per upstream call: rate-limit table " +
                      $"{(double)storage.Of(names.Rates) / Math.Max(1, calls.Count):F2}, all {(double)storage.Total / Math.Max(1, calls.Count):F2}");
    foreach (var host in hosts)
    {
        await host.StopAsync();
        await host.DisposeAsync();
    }
}

// Replays the fake's request bucket (a minute's quota, full at the first call, refilled continuously) over the answered
// calls. The steady state starts at the first answered call that leaves less than a second's refill in it: from there
// on nothing is left of the initial burst, and the refill rate is the most any client could get.
static (DateTimeOffset? From, int Calls, double PerMinute, double TokensPerMinute) SteadyState(List<RecordedCall> answered, int rpm)
{
    double level = rpm, perSecond = rpm / 60.0;
    var at = answered[0].At;
    for (var i = 0; i < answered.Count; i++)
    {
        level = Math.Min(rpm, level + (answered[i].At - at).TotalSeconds * perSecond) - 1;
        at = answered[i].At;
        if (level < perSecond)
        {
            var steady = answered.Skip(i + 1).ToList();
            if (steady.Count == 0)
            {
                return (null, 0, double.NaN, 0);
            }
            var minutes = (steady[^1].At - answered[i].At).TotalMinutes;
            return (answered[i].At, steady.Count, steady.Count / minutes, steady.Sum(call => FakeReply.TokensOf(call.Reply.Body)) / minutes);
        }
    }
    return (null, 0, double.NaN, 0);
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
        // appsettings.json's Information levels would otherwise win over SetMinimumLevel: a line per job costs CPU here.
        ["Logging:LogLevel:Default"] = "Error",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Error",
        ["Logging:LogLevel:Azure.Core"] = "Error", // every expected 412 of an optimistic write is a warning there
    };
    if (args.Contains("verbose"))
    {
        // Why jobs wait: gate, pacing, requeues, duplicates, sweeps, leases.
        all["Logging:LogLevel:Functions.Core.Completions"] = "Information";
        all["Logging:LogLevel:Functions.Core.Jobs"] = "Information";
        all["Logging:LogLevel:Functions.Core.RateLimits"] = "Debug";
    }
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
