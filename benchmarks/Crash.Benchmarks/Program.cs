// Usage: dotnet run -c Release --project benchmarks/Crash.Benchmarks [-- jobs rounds]
// The crash soak of issue 11. Per round: start Functions.Local as its own process (dotnet Functions.Local.dll, the
// build next to this one) against an in-memory Azurite and a loopback model whose answers take 3 s; submit the jobs;
// SIGKILL the host 2 s later, with calls in flight and messages dequeued; start a new host at once; poll every job
// until Succeeded or Failed. Prints the time from the restart to the last terminal job, and duplicate successful model
// calls (an answer delivered twice for one job). The defaults are the production ones: lease 30 s, heartbeat 10 s,
// sweep every 15 s, a Queued job untouched for 45 s is re-queued.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Azure.Data.Tables;
using Functions.Core.Spend;
using Functions.Core.Tokens;
using Functions.Local.Development;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

var jobCount = args.Length > 0 ? int.Parse(args[0]) : 100;
var rounds = args.Length > 1 ? int.Parse(args[1]) : 2;
var answerDelay = TimeSpan.FromSeconds(3);

await using var azurite = await AzuriteProcess.StartAsync(0, 0, 0, dataFolder: null);
var delivered = new ConcurrentDictionary<string, int>();
var calls = new ConcurrentDictionary<string, int>();
var (model, modelAddress) = await LoopbackApp.StartAsync(app => app.MapPost("/v1/chat/completions", async (HttpContext context) =>
{
    using var body = await JsonDocument.ParseAsync(context.Request.Body);
    var content = body.RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!;
    calls.AddOrUpdate(content, 1, (_, n) => n + 1);
    await Task.Delay(answerDelay, context.RequestAborted);
    await context.Response.WriteAsJsonAsync(ChatCompletionJson.Create("answer to " + content, "gpt-4.1-mini",
        ChatCompletionJson.PromptTokens(body.RootElement), 5));
    await context.Response.CompleteAsync();
    // Kestrel accepts writes to a connection whose client has just died: an answer counts as delivered only if the
    // connection is still up a moment later (a SIGKILLed host's connections are reset within milliseconds).
    await Task.Delay(250);
    if (!context.RequestAborted.IsCancellationRequested)
    {
        delivered.AddOrUpdate(content, 1, (_, n) => n + 1);
    }
}));

var dll = Path.Combine(RepositoryFiles.FindRoot()!, "Functions.Local", "bin",
    new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name, "net10.0", "Functions.Local.dll");
Console.WriteLine($"crash soak: {jobCount} jobs a round, {rounds} rounds, answers take {answerDelay.TotalSeconds} s; host {dll}");

for (var round = 1; round <= rounds; round++)
{
    delivered.Clear();
    calls.Clear();
    var port = FreePort();
    var suffix = Guid.NewGuid().ToString("N")[..12];
    var environment = new Dictionary<string, string>
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["OpenAI__Endpoint"] = new Uri(modelAddress, "v1").ToString(),
        ["OpenAI__ApiKey"] = "benchmark",
        ["Storage__ChatQueue"] = "crash" + suffix,
        ["Storage__JobsTable"] = "crashjobs" + suffix,
        ["Storage__GateTable"] = "crashgate" + suffix,
        ["Cache__Table"] = "crashcache" + suffix,
        ["Spend__Table"] = "crashspend" + suffix,
        ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.500",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
    };
    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

    var first = Start(dll, environment);
    await WaitListeningAsync(http);
    var ids = new string[jobCount];
    await Parallel.ForAsync(0, jobCount, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
    {
        using var response = await http.PostAsJsonAsync("/api/chat", new { messages = new[] { new { role = "user", content = $"round {round} job {i}" } } });
        ids[i] = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    });
    await Task.Delay(TimeSpan.FromSeconds(2));
    var inFlight = calls.Count - delivered.Count;
    first.Kill(entireProcessTree: false); // SIGKILL
    await first.WaitForExitAsync();
    var killedAt = Stopwatch.StartNew();

    var second = Start(dll, environment);
    await WaitListeningAsync(http);
    var restart = killedAt.Elapsed;
    var restartedAt = Stopwatch.StartNew();
    var statuses = new Dictionary<string, string>();
    var lastTerminal = TimeSpan.Zero;
    var unfinishedAtKill = 0;
    while (statuses.Count < jobCount && restartedAt.Elapsed < TimeSpan.FromMinutes(12))
    {
        foreach (var id in ids.Where(id => !statuses.ContainsKey(id)))
        {
            var job = await http.GetFromJsonAsync<JsonElement>($"/api/chat/{id}");
            if (job.GetProperty("status").GetString() is "Succeeded" or "Failed" && statuses.TryAdd(id, job.GetProperty("status").GetString()!))
            {
                lastTerminal = restartedAt.Elapsed;
            }
        }
        if (unfinishedAtKill == 0)
        {
            unfinishedAtKill = jobCount - statuses.Count;
        }
        await Task.Delay(500);
    }
    second.Kill(entireProcessTree: false);
    await second.WaitForExitAsync();

    // Paid calls the pipeline recorded, per job: more than one for a job is a model answer paid for twice.
    var ledger = new SpendLedger(new SpendTable(new TableServiceClient(azurite.ConnectionString).GetTableClient("crashspend" + suffix)),
        new PriceTable(Options.Create(new PricingOptions()), new TokenCounter(), NullLogger<PriceTable>.Instance),
        TimeProvider.System, NullLogger<SpendLedger>.Instance);
    var recorded = new Dictionary<string, int>();
    await foreach (var entry in ledger.ReadDayAsync(SpendKeys.DayOf(DateTimeOffset.UtcNow), CancellationToken.None))
    {
        if (entry.Kind == LedgerEntry.Call && entry.JobId is { } jobId)
        {
            recorded[jobId] = recorded.GetValueOrDefault(jobId) + 1;
        }
    }
    var duplicates = delivered.Count(pair => pair.Value > 1);
    Console.WriteLine($"round {round}: {inFlight} model calls in flight at the SIGKILL, {unfinishedAtKill} jobs unfinished; restart took " +
        $"{restart.TotalSeconds:F1} s; {statuses.Count}/{jobCount} terminal ({statuses.Count(s => s.Value == "Succeeded")} succeeded), " +
        $"the last {lastTerminal.TotalSeconds:F1} s after the restart; model calls {calls.Values.Sum()}, answers delivered " +
        $"{delivered.Values.Sum()}, duplicate successful calls {duplicates}; paid calls recorded {recorded.Values.Sum()}, " +
        $"jobs recorded twice {recorded.Count(pair => pair.Value > 1)}");
}
await model.DisposeAsync();

static Process Start(string dll, Dictionary<string, string> environment)
{
    var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    start.ArgumentList.Add(dll);
    foreach (var (name, value) in environment)
    {
        start.Environment[name] = value;
    }
    var process = Process.Start(start)!;
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("  host: " + e.Data); };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitListeningAsync(HttpClient http)
{
    for (var i = 0; i < 600; i++)
    {
        try
        {
            using var response = await http.GetAsync("/api/chat/00000000000000000000000000000000");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }
        await Task.Delay(100);
    }
    throw new TimeoutException("The host did not start.");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
