using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Core.Conversations;
using Functions.Core.Spend;
using Functions.Local.Development;

// Everything runs here: Azurite on free ports, the offline model (answers at once and reports the prompt tokens it was
// sent, counted with the real tokenizer), and the local host on a free port. Defaults for every Conversations setting.
const int Turns = 200, ReportEvery = 20, Seed = 7;
const string Caller = "benchmark-user", SystemPrompt = "You are a helpful travel assistant. Answer briefly and remember what the user told you.";

await using var host = await BenchmarkHost.StartAsync(new Dictionary<string, string?>
{
    ["Callers:TrustPrincipalHeader"] = "true",
    ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.100",
});
var app = host.App;
var http = host.Http;
var settings = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ConversationsOptions>>().Value;

async Task<(HttpStatusCode Status, JsonElement Body, double Ms)> SendAsync(HttpMethod method, string path, object? body = null)
{
    var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
    request.Headers.Add(CallerResolver.PrincipalIdHeader, Caller);
    var started = Stopwatch.GetTimestamp();
    using var response = await http.SendAsync(request);
    var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    var json = response.Content.Headers.ContentLength == 0 ? default : await response.Content.ReadFromJsonAsync<JsonElement>();
    return (response.StatusCode, json, elapsed);
}

async Task<JsonElement> WaitForTerminalAsync(string id)
{
    while (true)
    {
        var (_, job, _) = await SendAsync(HttpMethod.Get, $"/api/chat/{id}");
        if (job.GetProperty("status").GetString() is "Succeeded" or "Failed")
        {
            return job;
        }
        await Task.Delay(10);
    }
}

/// <summary>Submits and waits; returns the finished job and the submit's latency (to the 202).</summary>
async Task<(JsonElement Job, double SubmitMs)> RunAsync(object body)
{
    var (status, accepted, ms) = await SendAsync(HttpMethod.Post, "/api/chat", body);
    if (status != HttpStatusCode.Accepted)
    {
        throw new InvalidOperationException($"Expected 202, got {(int)status}: {accepted}");
    }
    return (await WaitForTerminalAsync(accepted.GetProperty("id").GetString()!), ms);
}

static string Percentiles(List<double> ms)
{
    var sorted = ms.Order().ToList();
    double At(double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];
    return $"p50 {At(0.50),6:F2} ms   p95 {At(0.95),6:F2} ms   p99 {At(0.99),6:F2} ms   (n = {sorted.Count})";
}

static double P50(List<double> ms) => ms.Order().ElementAt((ms.Count - 1) / 2);

// A user who asks things of varying length (seeded), as a chat SPA's user would.
var random = new Random(Seed);
string[] topics = ["Lisbon", "the train to Porto", "a hotel near the river", "vegetarian food", "museums", "the weather in May",
    "a day trip to Sintra", "my budget of 1,200 euros", "travelling with a child of six", "a flight home on Sunday"];
string Question(int turn)
{
    var words = string.Join(' ', Enumerable.Range(0, random.Next(8, 40)).Select(_ => topics[random.Next(topics.Length)].Split(' ')[0]));
    return $"Turn {turn}: tell me about {topics[random.Next(topics.Length)]}. Context: {words}.";
}

// Warm-up: JIT, connections, tables; a throwaway conversation.
var (_, warm, _) = await SendAsync(HttpMethod.Post, "/api/conversations", new { systemPrompt = SystemPrompt });
for (var i = 0; i < 5; i++)
{
    await RunAsync(new { messages = new[] { new { role = "user", content = $"warm-up {i}" } } });
    await RunAsync(new { conversationId = warm.GetProperty("id").GetString(), messages = new[] { new { role = "user", content = $"warm-up {i}" } } });
}

var (_, created, _) = await SendAsync(HttpMethod.Post, "/api/conversations", new { systemPrompt = SystemPrompt });
var conversationId = created.GetProperty("id").GetString()!;
var naiveHistory = new List<object> { new { role = "system", content = SystemPrompt } };
var rows = new List<string>();
var plainSubmit = new List<double>();
var turnSubmit = new List<double>();
long budgetedTotal = 0, naiveTotal = 0;
int maxBudgeted = 0, summaryTurns = 0, trimmedTurns = 0;
for (var turn = 1; turn <= Turns; turn++)
{
    // A plain submit of the same size beside each turn, so both see the same machine.
    var question = Question(turn);
    var (_, plainMs) = await RunAsync(new { messages = new[] { new { role = "user", content = question } } });
    plainSubmit.Add(plainMs);

    var (job, turnMs) = await RunAsync(new { conversationId, messages = new[] { new { role = "user", content = question } } });
    turnSubmit.Add(turnMs);
    var sent = job.GetProperty("result").GetProperty("usage").GetProperty("inputTokens").GetInt32();
    naiveHistory.Add(new { role = "user", content = question });
    var naive = ChatCompletionJson.PromptTokens(JsonSerializer.SerializeToElement(new { model = "gpt-4.1-mini", messages = naiveHistory }));
    naiveHistory.Add(new { role = "assistant", content = job.GetProperty("result").GetProperty("content").GetString() });
    var view = job.GetProperty("conversation");
    var summaryUsed = view.GetProperty("summaryUsed").GetBoolean();
    var trimmed = view.GetProperty("trimmedMessages").GetInt32();
    budgetedTotal += sent;
    naiveTotal += naive;
    maxBudgeted = Math.Max(maxBudgeted, sent);
    summaryTurns += summaryUsed ? 1 : 0;
    trimmedTurns += trimmed > 0 ? 1 : 0;
    if (turn == 1 || turn % ReportEvery == 0)
    {
        rows.Add($"| {turn,4} | {sent,6:N0} | {naive,7:N0} | {view.GetProperty("historyMessages").GetInt32(),8} | {(summaryUsed ? "yes" : "no"),7} | {trimmed,7} |");
    }
    // The summary is made off the turn's path; give its queue a moment, as a user reading the answer would.
    await Task.Delay(150);
}

var (_, final, _) = await SendAsync(HttpMethod.Get, $"/api/conversations/{conversationId}?limit=1");
var ledger = await app.Services.GetRequiredService<SpendLedger>().ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None)
    .ToListAsync();
var summaryCalls = ledger.Count(entry => entry.Kind == LedgerEntry.Summary);

Console.WriteLine();
Console.WriteLine($"A {Turns}-turn conversation, Conversations__MaxHistoryTokens={settings.MaxHistoryTokens}, " +
                  $"SummaryMaxTokens={settings.SummaryMaxTokens}, SummaryModel={settings.SummaryModel}; prompt tokens as the model counted them");
Console.WriteLine("| turn | budget | naive | history msgs | summary | trimmed |");
Console.WriteLine("| ---: | ---: | ---: | ---: | --- | ---: |");
rows.ForEach(Console.WriteLine);
Console.WriteLine($"prompt tokens over all turns: {budgetedTotal:N0} with the budget, {naiveTotal:N0} naive ({100.0 * budgetedTotal / naiveTotal:F1} %); " +
                  $"largest prompt {maxBudgeted:N0}");
Console.WriteLine($"summary calls: {summaryCalls} (ledger, kind 'summary'); summary covers {final.GetProperty("summary").GetProperty("coversMessages")} " +
                  $"of {final.GetProperty("messageCount")} messages; turns sent with the summary: {summaryTurns}; turns that trimmed: {trimmedTurns}");
Console.WriteLine($"summary tokens in/out: {ledger.Where(e => e.Kind == LedgerEntry.Summary).Sum(e => (long)e.Usage.InputTokens):N0} / " +
                  $"{ledger.Where(e => e.Kind == LedgerEntry.Summary).Sum(e => (long)e.Usage.OutputTokens):N0}");
Console.WriteLine();
Console.WriteLine("Submit → 202, sequential, the worker idle (each job finished before the next submit):");
Console.WriteLine($"  plain submit          {Percentiles(plainSubmit)}");
Console.WriteLine($"  conversation turn     {Percentiles(turnSubmit)}");
Console.WriteLine($"  p50 overhead of a turn (history read, trim, the conversation taken): {P50(turnSubmit) - P50(plainSubmit):F2} ms");

await app.StopAsync();
