using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Local.Development;
using Functions.Tests.Infrastructure;
using Functions.Tests.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Functions.Tests.Spend;

/// <summary>
/// Budgets through the real host: submit reserves, the worker settles or releases. Every request here is one user
/// message "hi" with maxTokens 100 on gpt-4.1-mini: a worst case of 18 input tokens
/// (3 + 4 + "user" 1 + "hi" 1 = 9, + 2 % → 10, + 8) × 0.40 + 100 × 1.60 = 167.2 → 168 µ$.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BudgetEndToEndTests(AzuriteFixture azurite, ITestOutputHelper output) : HostedTest(azurite)
{
    private const long WorstCase = 168;
    private static readonly object Hi = new { messages = new[] { new { role = "user", content = "hi" } }, maxTokens = 100 };

    [Fact]
    public async Task FiftyParallelSubmits_NeverTakeTheGlobalBudgetPastItsLimit()
    {
        // Room for 10 worst cases (10 × 168 = 1680 ≤ 1700 < 1848). The model holds every call, so nothing settles
        // during the burst and each accepted request still holds its full reservation.
        const long limit = 1700;
        for (var i = 0; i < 200; i++)
        {
            Model.Enqueue(FakeReply.Completion("slow") with { Delay = TimeSpan.FromSeconds(30) });
        }
        var host = await StartHostAsync(
            new Dictionary<string, string?> { ["Budgets:GlobalDailyUsd"] = "0.0017" });

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => host.SubmitAsync(Hi, caller: $"caller-{i % 7}")));

        var accepted = responses.Count(response => response.StatusCode == HttpStatusCode.Accepted);
        var refused = responses.Where(response => response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        var overshoot = Math.Max(0, accepted * WorstCase - limit);
        output.WriteLine($"accepted {accepted} of 50; reserved {accepted * WorstCase} µ$ of {limit} µ$; overshoot {overshoot} µ$");
        Assert.Equal(50, accepted + refused.Count);
        Assert.True(accepted * WorstCase <= limit + WorstCase, $"overshoot of {overshoot} µ$ exceeds one reservation");
        Assert.Equal(0, overshoot);
        Assert.Equal(10, accepted);
        foreach (var response in refused)
        {
            Assert.Equal("budget_exceeded", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }
        var counter = await CounterAsync(host, "counter|global");
        Assert.True(counter.ReservedMicros + counter.SpentMicros <= limit);
        Assert.Equal(accepted, await CountJobRowsAsync(host));
    }

    [Fact]
    public async Task FiftyParallelChinesePrompts_SpendNoMoreThanTheBudget_WhenEveryJobIsBilledInFull()
    {
        // 1,000 Chinese characters are about 700 tokens, not the 250 that four characters a token made of them: with that
        // estimate, jobs reserved a third of what they then cost. The fake bills each prompt as OpenAI does (the real
        // tokenizer) and every answer at its whole maxTokens, so the settled cost is each request's true worst case.
        const long limit = 2000; // $0.002
        Model.Responder = request => FakeReply.Completion("答", promptTokens: ChatCompletionJson.PromptTokens(request),
            completionTokens: request.GetProperty("max_completion_tokens").GetInt32(), model: "gpt-4.1-mini");
        await using var host = await TestHost.StartAsync(Azurite, Model.BaseUrl,
            new Dictionary<string, string?> { ["Budgets:GlobalDailyUsd"] = "0.002" });

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => host.SubmitAsync(
            new { messages = new[] { new { role = "user", content = TokenCounterTests.ChineseText(1000, seed: i) } }, maxTokens = 50 },
            caller: $"caller-{i % 7}")));
        var accepted = new List<(string Id, string Caller)>();
        for (var i = 0; i < responses.Length; i++)
        {
            if (responses[i].StatusCode == HttpStatusCode.Accepted)
            {
                accepted.Add(((await responses[i].Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, $"caller-{i % 7}"));
            }
            else
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, responses[i].StatusCode);
            }
        }
        foreach (var (id, caller) in accepted)
        {
            Assert.Equal("Succeeded", (await host.WaitForTerminalAsync(id, caller, TimeSpan.FromSeconds(60))).GetProperty("status").GetString());
        }

        var spent = (await LedgerAsync(host)).Sum(entry => entry.CostMicros);
        var counter = await CounterAsync(host, "counter|global");
        var overshoot = Math.Max(0, spent - limit);
        output.WriteLine($"accepted {accepted.Count} of 50; spent {spent} µ$ of {limit} µ$; overshoot {overshoot} µ$");
        Assert.NotEmpty(accepted);
        Assert.Equal(0, overshoot);
        Assert.Equal((0L, spent), (counter.ReservedMicros, counter.SpentMicros));
    }

    [Fact]
    public async Task Submit_OverBudget_Gets429BudgetExceeded_WithTheBudgetAndItsReset_AndQueuesNothing()
    {
        var host = await StartHostAsync(
            new Dictionary<string, string?> { ["Budgets:PerCallerDailyUsd"] = "0.0001" });

        using var response = await host.SubmitAsync(Hi, caller: "alice");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var nextMidnight = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(1), TimeSpan.Zero);
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal("budget_exceeded", problem.GetProperty("code").GetString());
        Assert.Equal("perCallerDaily", problem.GetProperty("budget").GetString());
        Assert.Equal(nextMidnight, problem.GetProperty("resetsAt").GetDateTimeOffset());
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        // Retry-After counts down to the budget's reset (a second or two of slack for the time the request took).
        Assert.InRange((nextMidnight - DateTimeOffset.UtcNow - retryAfter.Value).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal(0, await CountJobRowsAsync(host));
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task SucceededJob_IsInTheLedger_AndSettlesItsReservationToTheRealCost()
    {
        // 21 input tokens of which 5 cached, 8 output: 16 × 0.40 + 5 × 0.10 + 8 × 1.60 = 6.4 + 0.5 + 12.8 = 19.7 → 20 µ$.
        Model.Enqueue(FakeReply.Completion("ok", promptTokens: 21, completionTokens: 8, cachedTokens: 5, model: "gpt-4.1-mini-2025-04-14"));
        var host = await StartHostAsync(new Dictionary<string, string?>
        {
            ["Budgets:GlobalDailyUsd"] = "1",
            ["Budgets:PerCallerMonthlyUsd"] = "1",
        });

        var id = await host.SubmitAcceptedAsync(Hi, caller: "alice");
        var job = await host.WaitForTerminalAsync(id, caller: "alice");

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        var entry = Assert.Single(await LedgerAsync(host));
        Assert.Equal(20, entry.CostMicros);
        Assert.Equal("alice", entry.Caller);
        Assert.Equal(new TokenUsage(21, 5, 8), entry.Usage);
        Assert.Equal((0L, 20L), await CounterTotalsAsync(host, "counter|global"));
        Assert.Equal((0L, 20L), await CounterTotalsAsync(host, "counter|caller|alice", BudgetPeriod.Monthly));
    }

    [Fact]
    public async Task PermanentlyFailedJob_ReleasesItsReservation()
    {
        Model.Enqueue(FakeReply.Error(401, "invalid_api_key"));
        var host = await StartHostAsync(
            new Dictionary<string, string?> { ["Budgets:GlobalDailyUsd"] = "1" });

        var id = await host.SubmitAcceptedAsync(Hi);
        var job = await host.WaitForTerminalAsync(id);

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        Assert.Equal((0L, 0L), await CounterTotalsAsync(host, "counter|global"));
        Assert.Empty(await LedgerAsync(host));
    }

    [Fact]
    public async Task PoisonedJob_ReleasesItsReservation()
    {
        var fastRetry = new Dictionary<string, string> { ["retry-after-ms"] = "1" };
        for (var i = 0; i < 8; i++)
        {
            Model.Enqueue(FakeReply.Error(500, "server_error", "server_error", fastRetry));
        }
        var host = await StartHostAsync(new Dictionary<string, string?>
        {
            ["Budgets:GlobalDailyUsd"] = "1",
            ["AzureFunctionsJobHost:extensions:queues:maxDequeueCount"] = "1",
        });

        var id = await host.SubmitAcceptedAsync(Hi);
        var job = await host.WaitForTerminalAsync(id, timeout: TimeSpan.FromSeconds(60));

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        Assert.Contains("Gave up", job.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal((0L, 0L), await CounterTotalsAsync(host, "counter|global"));
    }

    private static async Task<BudgetCounter> CounterAsync(TestHost host, string key, BudgetPeriod period = BudgetPeriod.Daily) =>
        await host.App.Services.GetRequiredService<BudgetStore>()
            .GetCounterAsync(BudgetWindow.Of(period, DateTimeOffset.UtcNow), key, CancellationToken.None)
        ?? throw new InvalidOperationException($"No counter {key}");

    private static async Task<(long Reserved, long Spent)> CounterTotalsAsync(TestHost host, string key, BudgetPeriod period = BudgetPeriod.Daily)
    {
        var counter = await CounterAsync(host, key, period);
        return (counter.ReservedMicros, counter.SpentMicros);
    }

    private static async Task<int> CountJobRowsAsync(TestHost host)
    {
        var count = 0;
        await foreach (var _ in host.App.Services.GetRequiredService<JobTable>().Client.QueryAsync<TableEntity>(select: ["PartitionKey"]))
        {
            count++;
        }
        return count;
    }

    private static async Task<List<LedgerEntry>> LedgerAsync(TestHost host)
    {
        var entries = new List<LedgerEntry>();
        await foreach (var entry in host.App.Services.GetRequiredService<SpendLedger>()
                           .ReadDayAsync(SpendKeys.DayOf(DateTimeOffset.UtcNow), CancellationToken.None))
        {
            entries.Add(entry);
        }
        return entries;
    }
}
