// Usage: dotnet run -c Release --project benchmarks/JobStreams.Benchmarks [-- jobs words concurrent flushMs]
// Starts its own in-memory Azurite, a loopback model that streams a word every 20 ms (and notes when it sent each),
// and two local hosts sharing one queue's tables: a worker, and a second instance that only serves streams. Measures
//  1. model's first delta → client's first `delta` event, and model's last delta → `done`, p50/p95, for streams served
//     by the worker's own instance and by the other one (the same code: every reader polls Table Storage);
//  2. storage operations per 1,000 streamed tokens (every HTTP request to Azurite, counted by table and verb);
//  3. 50 streams held open at once on one instance while their jobs stream: memory and CPU of this process.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Functions.Core.Jobs.Streams;
using Functions.Core.Tokens;
using Functions.Local;
using Functions.Local.Development;
using Microsoft.Extensions.Options;

var jobs = args.Length > 0 ? int.Parse(args[0]) : 20;
var words = args.Length > 1 ? int.Parse(args[1]) : 60;
var concurrent = args.Length > 2 ? int.Parse(args[2]) : 50;
var flushMs = args.Length > 3 ? int.Parse(args[3]) : (int?)null; // unset: the product's defaults
var chunkDelay = TimeSpan.FromMilliseconds(20);

using var storage = new StorageRequests();
await using var azurite = await AzuriteProcess.StartAsync(0, 0, 0, dataFolder: null);

// The model: answers "job N" with N's words, a word a chunk, 20 ms apart, and notes when the first and last went out.
var sent = new ConcurrentDictionary<string, (long First, long Last)>();
var (model, modelAddress) = await LoopbackApp.StartAsync(app => app.MapPost("/v1/chat/completions", async context =>
{
    using var body = await JsonDocument.ParseAsync(context.Request.Body);
    var prompt = body.RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!;
    var count = int.Parse(prompt.Split(' ')[2]);
    var content = Answer(prompt, count);
    var pieces = ChatCompletionStream.Pieces(content).Count;
    await ChatCompletionStream.WriteAsync(context, body.RootElement, content, "gpt-4.1-mini", 20, pieces, chunkDelay: chunkDelay,
        sent: index =>
        {
            var now = Stopwatch.GetTimestamp();
            sent.AddOrUpdate(prompt, _ => (now, now), (_, seen) => (index == 0 ? now : seen.First, now));
        });
}));

var shared = new Dictionary<string, string?>
{
    ["AzureWebJobsStorage"] = azurite.ConnectionString,
    ["OpenAI:Endpoint"] = new Uri(modelAddress, "v1").ToString(),
    ["OpenAI:ApiKey"] = "benchmark",
    ["Callers:TrustPrincipalHeader"] = "true",
    ["JobStreams:SigningKey"] = "benchmark-signing-key-shared-by-both-instances",
    ["JobStreams:MaxOpenPerCaller"] = "100",
};
if (flushMs is { } interval)
{
    shared["JobStreams:FlushInterval"] = TimeSpan.FromMilliseconds(interval).ToString();
}
await using var worker = await StartHostAsync(shared);
await using var reader = await StartHostAsync(new Dictionary<string, string?>(shared) { ["Storage:ChatQueue"] = "idle-queue" });
using var workerHttp = new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(worker)), Timeout = TimeSpan.FromMinutes(5) };
using var readerHttp = new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(reader)), Timeout = TimeSpan.FromMinutes(5) };
var tokens = worker.Services.GetRequiredService<TokenCounter>();
var streamOptions = worker.Services.GetRequiredService<IOptions<JobStreamOptions>>().Value;

for (var i = 0; i < 3; i++)
{
    await RunAsync(workerHttp, $"warm {i} 10", "warm"); // JIT, connections, tables
}

Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; Azurite in memory; model streams a word " +
                  $"every {chunkDelay.TotalMilliseconds:F0} ms; FlushInterval " +
                  $"{streamOptions.FlushInterval.TotalMilliseconds:F0} ms, FlushTokens {streamOptions.FlushTokens}, PollInterval " +
                  $"{streamOptions.PollInterval.TotalMilliseconds:F0} ms");

// 1 and 2: sequential jobs, half their streams served by the worker's instance, half by the other.
foreach (var (name, http) in new[] { ("same instance", workerHttp), ("other instance", readerHttp) })
{
    var first = new List<double>();
    var done = new List<double>();
    var before = storage.Snapshot();
    var streamedTokens = 0;
    for (var i = 0; i < jobs; i++)
    {
        var prompt = $"job {name.Replace(' ', '-')}{i} {words}";
        var run = await RunAsync(http, prompt, "alice");
        var (modelFirst, modelLast) = sent[prompt];
        first.Add(Stopwatch.GetElapsedTime(modelFirst, run.FirstDelta).TotalMilliseconds);
        done.Add(Stopwatch.GetElapsedTime(modelLast, run.Done).TotalMilliseconds);
        streamedTokens += tokens.CountText("gpt-4.1-mini", run.Text);
    }
    var after = storage.Snapshot();
    var ops = (StreamWrites: after.StreamWrites - before.StreamWrites, StreamReads: after.StreamReads - before.StreamReads,
        JobReads: after.JobReads - before.JobReads, All: after.All - before.All);
    Print($"model's first delta → client's first delta ({name}, {jobs} jobs)", first);
    Print($"model's last delta → done ({name})", done);
    Console.WriteLine($"  storage per 1,000 streamed tokens ({streamedTokens} tokens, {jobs * words} deltas): " +
                      $"stream-table writes {Per(ops.StreamWrites)}, stream-table reads {Per(ops.StreamReads)}, " +
                      $"job reads {Per(ops.JobReads)} (the worker's and the streams'), all requests {Per(ops.All)}");

    string Per(int count) => (count * 1000.0 / streamedTokens).ToString("F1");
}

// 3: many streams open at once on the worker's instance.
{
    GC.Collect();
    var process = Process.GetCurrentProcess();
    process.Refresh();
    var baseline = (Heap: GC.GetTotalMemory(true), WorkingSet: process.WorkingSet64);
    var cpuBefore = process.TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    long peakHeap = 0, peakWorkingSet = 0;
    using var sampling = new CancellationTokenSource();
    var sampler = Task.Run(async () =>
    {
        while (!sampling.IsCancellationRequested)
        {
            process.Refresh();
            peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
            peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64);
            await Task.Delay(100);
        }
    });
    var longWords = words * 5;
    var runs = await Task.WhenAll(Enumerable.Range(0, concurrent).Select(i => RunAsync(workerHttp, $"many {i} {longWords}", $"caller{i}")));
    await sampling.CancelAsync();
    await sampler;
    process.Refresh();
    var cpu = process.TotalProcessorTime - cpuBefore;
    var exact = runs.Count(run => run.Text == Answer(run.Prompt, longWords));
    Console.WriteLine($"{concurrent} streams open at once on one instance ({longWords} words each, {wall.Elapsed.TotalSeconds:F1} s): " +
                      $"{exact}/{concurrent} exact; CPU {cpu.TotalSeconds:F1} s = {cpu / wall.Elapsed / Environment.ProcessorCount:P0} of " +
                      $"{Environment.ProcessorCount} cores (whole process: host, model and clients); managed heap +" +
                      $"{(peakHeap - baseline.Heap) / 1048576.0:F1} MiB at peak, working set {baseline.WorkingSet / 1048576.0:F0} → " +
                      $"{peakWorkingSet / 1048576.0:F0} MiB");
}

await model.DisposeAsync();

static string Answer(string prompt, int count) =>
    string.Join(' ', Enumerable.Range(1, count).Select(i => i == 1 ? $"Answer to {prompt}:" : $"word{i}"));

async Task<StreamRun> RunAsync(HttpClient http, string prompt, string caller)
{
    var submit = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
    {
        Content = JsonContent.Create(new { messages = new[] { new { role = "user", content = prompt } } }),
    };
    submit.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", caller);
    using var accepted = await workerHttp.SendAsync(submit);
    accepted.EnsureSuccessStatusCode();
    var streamUrl = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("streamUrl").GetString()!;

    using var response = await http.GetAsync(streamUrl, HttpCompletionOption.ResponseHeadersRead);
    response.EnsureSuccessStatusCode();
    using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());
    var text = new StringBuilder();
    long firstDelta = 0;
    string? type = null;
    while (await lines.ReadLineAsync() is { } line)
    {
        if (line.StartsWith("event: ", StringComparison.Ordinal))
        {
            type = line["event: ".Length..];
        }
        else if (line.StartsWith("data: ", StringComparison.Ordinal) && type == "delta")
        {
            firstDelta = firstDelta == 0 ? Stopwatch.GetTimestamp() : firstDelta;
            text.Append(JsonDocument.Parse(line["data: ".Length..]).RootElement.GetProperty("text").GetString());
        }
        else if (line.StartsWith("data: ", StringComparison.Ordinal) && type is "done" or "failed")
        {
            return new StreamRun(prompt, firstDelta, Stopwatch.GetTimestamp(), text.ToString());
        }
    }
    throw new InvalidOperationException($"The stream of '{prompt}' ended without done.");
}

static async Task<WebApplication> StartHostAsync(Dictionary<string, string?> settings)
{
    // Built as Functions.Local's Program builds it (BenchmarkHost does the same, but with an Azurite and model of its own).
    var builder = LocalHost.CreateBuilder([]);
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Configuration.AddInMemoryCollection(settings);
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    var app = await LocalHost.BuildAsync(builder);
    await app.StartAsync();
    return app;
}

static void Print(string name, List<double> samples)
{
    samples.Sort();
    double At(double p) => samples[Math.Clamp((int)Math.Ceiling(p * samples.Count) - 1, 0, samples.Count - 1)];
    Console.WriteLine($"{name,-70} p50 {At(0.50),7:F1} ms  p95 {At(0.95),7:F1} ms  max {samples[^1],7:F1} ms");
}

internal sealed record StreamRun(string Prompt, long FirstDelta, long Done, string Text);

/// <summary>Every HTTP request this process makes to Azurite's tables, by table and kind, from HttpClient's activities.</summary>
internal sealed class StorageRequests : IDisposable
{
    private readonly ActivityListener listener;
    private int streamWrites, streamReads, jobReads, all;

    public StorageRequests()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = Count,
        };
        ActivitySource.AddActivityListener(listener);
    }

    public (int StreamWrites, int StreamReads, int JobReads, int All) Snapshot() => (streamWrites, streamReads, jobReads, all);

    private void Count(Activity activity)
    {
        if (activity.GetTagItem("url.full") is not string url || !url.Contains("/devstoreaccount1/", StringComparison.Ordinal))
        {
            return;
        }
        Interlocked.Increment(ref all);
        var path = new Uri(url).AbsolutePath;
        var read = activity.GetTagItem("http.request.method") as string == "GET";
        if (path.StartsWith("/devstoreaccount1/jobstreams", StringComparison.Ordinal))
        {
            if (read)
            {
                Interlocked.Increment(ref streamReads);
            }
            else
            {
                Interlocked.Increment(ref streamWrites);
            }
        }
        else if (read && path.StartsWith("/devstoreaccount1/jobs(", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref jobReads);
        }
    }

    public void Dispose() => listener.Dispose();
}
