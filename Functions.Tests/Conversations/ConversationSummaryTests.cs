using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Conversations;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using static Functions.Tests.Conversations.ConversationsClient;

namespace Functions.Tests.Conversations;

/// <summary>
/// The history budget through the real host: once older turns no longer fit, the fake model is sent the system prompt,
/// the summary and the newest turns only; summary calls are paid calls of the caller's, shown as summaries in the
/// spend report; a failed summary falls back to trimming; the cache keys on what is sent.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ConversationSummaryTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    private const string SummaryModel = "summary-model";
    private const int Budget = 300;
    private int summaryCalls;
    private bool summariesFail;

    protected override bool StartsHost => true;

    protected override IReadOnlyDictionary<string, string?>? HostSettings => new Dictionary<string, string?>
    {
        ["Conversations:MaxHistoryTokens"] = Budget.ToString(),
        ["Conversations:SummaryMaxTokens"] = "60",
        ["Conversations:SummaryModel"] = SummaryModel,
        ["Spend:AdminCallers"] = "ops",
    };

    protected override void ScriptModel(FakeOpenAIServer model) => model.Responder = request =>
    {
        if (request.GetProperty("model").GetString() == SummaryModel)
        {
            return summariesFail
                ? FakeReply.Error(400, "invalid_request_error")
                : FakeReply.Completion($"SUMMARY-{Interlocked.Increment(ref summaryCalls)} of what came before", model: SummaryModel);
        }
        var last = request.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString();
        return FakeReply.Completion($"answer to {last}: " + string.Join(' ', Enumerable.Repeat("lorem ipsum", 10)), model: "gpt-4.1-mini");
    };

    private static string Question(int n) => $"question {n}: " + string.Join(' ', Enumerable.Repeat("tell me more", 6));

    [Fact]
    public async Task OnceOlderTurnsDoNotFit_TheModelIsSentTheSummaryAndTheNewestTurnsOnly()
    {
        var id = await Host.CreateConversationAsync("alice", systemPrompt: "You are terse.");
        for (var n = 1; n <= 5; n++)
        {
            var turn = await Host.TurnAsync(id, Question(n), "alice");
            Assert.True(turn.GetProperty("conversation").GetProperty("historyTokens").GetInt32() <= Budget);
            await SummariesDoneAsync(); // so that each turn finds the summary its predecessor asked for
        }
        await Host.WaitForSummaryAsync(id, "alice", messages: 2);

        var sixth = await Host.TurnAsync(id, Question(6), "alice");

        var summaryCalls = Model.Calls.Where(call => ConversationsClient.Model(call) == SummaryModel).ToList();
        Assert.NotEmpty(summaryCalls);
        Assert.Contains("question 1", Messages(summaryCalls[0])[1].Content);
        // Incremental: no summary call reads a turn an earlier one folded in already.
        Assert.All(summaryCalls.Skip(1), call => Assert.DoesNotContain("question 1", Messages(call)[1].Content));
        var sent = Messages(Model.Calls.Last());
        Assert.Equal(("system", "You are terse."), sent[0]);
        Assert.StartsWith(ConversationTurns.SummaryPrefix + "SUMMARY-", sent[1].Content);
        Assert.Equal("system", sent[1].Role);
        Assert.Equal(("user", Question(6)), sent[^1]);
        Assert.DoesNotContain(sent, message => message.Content.StartsWith("question 1", StringComparison.Ordinal));
        Assert.Contains(sent, message => message.Content == Question(5)); // the newest turns whole
        var view = sixth.GetProperty("conversation");
        Assert.True(view.GetProperty("summaryUsed").GetBoolean());
        Assert.Equal(0, view.GetProperty("trimmedMessages").GetInt32());
        Assert.Equal(sent.Count - 3, view.GetProperty("historyMessages").GetInt32());
        Assert.True(view.GetProperty("historyTokens").GetInt32() <= Budget);

        // Summary calls are alice's, in the ledger as summaries, once each, and the spend report counts them apart.
        var ledger = await Host.Service<SpendLedger>().ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None).ToListAsync();
        var summaries = ledger.Where(entry => entry.Kind == LedgerEntry.Summary).ToList();
        Assert.Equal(summaryCalls.Count, summaries.Count);
        Assert.All(summaries, entry => Assert.Equal(("alice", SummaryModel), (entry.Caller, entry.Model)));
        await Host.Service<SpendRollup>().RunAsync(CancellationToken.None);
        using var report = await Host.SendAsync(HttpMethod.Get, "/api/spend?by=model", "ops");
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        var total = (await report.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total");
        Assert.Equal(summaries.Count, total.GetProperty("summaryCalls").GetInt64());
        Assert.Equal(summaries.Sum(entry => entry.CostMicros), total.GetProperty("summaryCostMicros").GetInt64());
        Assert.Equal(6 + summaries.Count, total.GetProperty("calls").GetInt64()); // six turns and the summaries
    }

    [Fact]
    public async Task WhenTheSummaryFails_TheTurnIsTrimmedToTheBudget_AndSucceeds()
    {
        summariesFail = true;
        var id = await Host.CreateConversationAsync("bob", systemPrompt: "You are terse.");
        for (var n = 1; n <= 5; n++)
        {
            await Host.TurnAsync(id, Question(n), "bob");
        }
        await WaitForAsync(() => Model.Calls.Any(call => ConversationsClient.Model(call) == SummaryModel)); // it was tried, and failed

        var sixth = await Host.TurnAsync(id, Question(6), "bob");

        Assert.Equal("Succeeded", sixth.GetProperty("status").GetString());
        var view = sixth.GetProperty("conversation");
        Assert.False(view.GetProperty("summaryUsed").GetBoolean());
        Assert.True(view.GetProperty("trimmedMessages").GetInt32() >= 2);
        Assert.True(view.GetProperty("historyTokens").GetInt32() <= Budget);
        var sent = Messages(Model.Calls.Last(call => ConversationsClient.Model(call) != SummaryModel));
        Assert.Equal(("system", "You are terse."), sent[0]);
        Assert.DoesNotContain(sent, message => message.Content.StartsWith("question 1", StringComparison.Ordinal));
        Assert.Equal(("user", Question(6)), sent[^1]);
        Assert.Equal(sent.Count - 2, view.GetProperty("historyMessages").GetInt32());
        Assert.False((await Host.GetConversationAsync(id, "bob")).TryGetProperty("summary", out _));
    }

    [Fact]
    public async Task TheCacheKeysOnWhatIsSent_TwoConversationsShareAnAnswerOnlyWhenTheyWouldBothHaveGotIt()
    {
        var french = await Host.CreateConversationAsync("carol", systemPrompt: "Answer in French.");
        var german = await Host.CreateConversationAsync("carol", systemPrompt: "Answer in German.");
        var frenchAgain = await Host.CreateConversationAsync("carol", systemPrompt: "Answer in French.");

        var one = await Host.TurnAsync(french, "Good morning", "carol", temperature: 0);
        var two = await Host.TurnAsync(german, "Good morning", "carol", temperature: 0);
        var calls = Model.Calls.Count;
        var three = await Host.TurnAsync(frenchAgain, "Good morning", "carol", temperature: 0);

        Assert.Equal(2, calls);
        Assert.Equal(calls, Model.Calls.Count); // the same system prompt and history: the stored answer, no call
        Assert.Equal(one.GetProperty("result").GetProperty("content").GetString(), three.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal("Succeeded", two.GetProperty("status").GetString());
        Assert.Equal(2, (await Host.GetConversationAsync(frenchAgain, "carol")).GetProperty("messageCount").GetInt32());

        // The next turns differ in history (their conversations' answers differ), so they never share.
        await Host.TurnAsync(french, "And now?", "carol", temperature: 0);
        await Host.TurnAsync(german, "And now?", "carol", temperature: 0);
        Assert.Equal(calls + 2, Model.Calls.Count);
    }

    /// <summary>Waits until the summary queue is empty: every summary asked for so far has been made or given up.</summary>
    private async Task SummariesDoneAsync()
    {
        var queue = Host.Service<SummaryQueue>().Client;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The summary queue did not drain before the timeout.");
            }
            await Task.Delay(50);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not hold before the timeout.");
            }
            await Task.Delay(50);
        }
    }
}
