using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Spend;
using Functions.Tests.ChatCompletions;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Spend;

/// <summary>
/// What is left of the caller's tightest budget, in <c>x-budget-*</c> headers on both doors through the real host: after
/// the reservation on a 202 and a stream (the request's worst case held), after settling on a finished job and a JSON
/// answer, and on a budget refusal. Each request here is "hi" with maxTokens 100 on gpt-4.1-mini: a worst case of 168 µ$
/// (see <see cref="BudgetEndToEndTests"/>).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BudgetHeadersTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    private const long LimitMicros = 5_000; // $0.005 a day per caller
    private const long WorstCase = 168;

    private static readonly object Hi = new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content = "hi" } }, maxTokens = 100 };

    protected override bool StartsHost => true;

    protected override IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        ["Budgets:PerCallerDailyUsd"] = "0.005",
    };

    [Fact]
    public async Task QueuedDoor_TellsTheBudgetLeft_WhileHeld_OnceSettled_AndLessAfterEachPaidAnswer()
    {
        using var first = await Host.SubmitAsync(Hi, caller: "alice");
        var firstId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var job = await Host.WaitForTerminalAsync(firstId, caller: "alice");
        using var settled = await Host.GetAsync(firstId, caller: "alice");
        using var second = await Host.SubmitAsync(Hi, caller: "alice");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var held = AssertBudget(first);
        Assert.Equal(LimitMicros - WorstCase, held);
        var cost = Micros(job.GetProperty("result").GetProperty("costUsd").GetDecimal());
        Assert.True(cost > 0);
        Assert.Equal(LimitMicros - cost, AssertBudget(settled)); // the worker on this instance settled it to the real cost
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(LimitMicros - cost - WorstCase, AssertBudget(second));
    }

    [Fact]
    public async Task InteractiveDoor_TellsTheBudgetLeft_AfterAJsonAnswerIsSettled_AndInAStreamsHeaders()
    {
        using var json = await Host.CompleteAsync(new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 100 },
            caller: "bob");
        var cost = Micros((await json.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage").GetProperty("cost_usd").GetDecimal());
        using var stream = await Host.CompleteAsync(new
        {
            model = "gpt-4.1-mini", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 100, stream = true,
        }, caller: "bob");
        await stream.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal(LimitMicros - cost, AssertBudget(json));
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal(LimitMicros - cost - WorstCase, AssertBudget(stream)); // sent before the model call, this call's worst case held
    }

    [Fact]
    public async Task BudgetRefusal_OnBothDoors_TellsWhatIsLeft_LessThanTheRequestCouldCost()
    {
        // 4,096 output tokens could cost $0.0066: more than the whole day's $0.005.
        using var queued = await Host.SubmitAsync(new { messages = new[] { new { role = "user", content = "hi" } }, maxTokens = 4096 }, caller: "carol");
        using var interactive = await Host.CompleteAsync(new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 4096 },
            caller: "carol");

        Assert.Equal(HttpStatusCode.TooManyRequests, queued.StatusCode);
        Assert.Equal(LimitMicros, AssertBudget(queued));
        Assert.Equal(HttpStatusCode.TooManyRequests, interactive.StatusCode);
        Assert.Equal(LimitMicros, AssertBudget(interactive));
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task NoBudgetConfigured_NoBudgetHeaders_OnEitherDoor()
    {
        var host = await StartHostAsync();

        using var submitted = await host.SubmitAsync(Hi, caller: "dave");
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await host.WaitForTerminalAsync(id, caller: "dave");
        using var job = await host.GetAsync(id, caller: "dave");
        using var completion = await host.CompleteAsync(ChatCompletionsClient.User("hi"), caller: "dave");

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        foreach (var response in new[] { submitted, job, completion })
        {
            Assert.DoesNotContain(response.Headers, header => header.Key.StartsWith("x-budget-", StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>The four headers are there and agree with the per-caller daily budget; returns the remaining µ$.</summary>
    private static long AssertBudget(HttpResponseMessage response)
    {
        string Header(string name) => Assert.Single(response.Headers.GetValues(name));
        Assert.Equal("perCallerDaily", Header(BudgetHeadroom.NameHeader));
        Assert.Equal(LimitMicros, Micros(decimal.Parse(Header(BudgetHeadroom.LimitHeader), CultureInfo.InvariantCulture)));
        var nextMidnight = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(1), TimeSpan.Zero);
        Assert.Equal(nextMidnight, DateTimeOffset.Parse(Header(BudgetHeadroom.ResetHeader), CultureInfo.InvariantCulture));
        return Micros(decimal.Parse(Header(BudgetHeadroom.RemainingHeader), CultureInfo.InvariantCulture));
    }

    private static long Micros(decimal usd) => (long)(usd * Money.MicrosPerUsd);
}
