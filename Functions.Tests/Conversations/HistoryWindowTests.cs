using Functions.Core.Conversations;

namespace Functions.Tests.Conversations;

/// <summary>The history budget's arithmetic: newest turns whole, the summary in place of what does not fit, folds in steps.</summary>
public sealed class HistoryWindowTests
{
    /// <summary>Turns of two messages (question, answer), each message <paramref name="tokens"/> tokens, numbered from <paramref name="first"/>.</summary>
    private static List<StoredMessage> Turns(int count, int tokens = 50, int first = 0) =>
        [.. Enumerable.Range(first, count * 2).Select(index => new StoredMessage(index, index % 2 == 0 ? "user" : "assistant", $"m{index}",
            tokens, "o200k_base", $"turn{index / 2}", DateTimeOffset.UnixEpoch))];

    [Fact]
    public void Plan_WhenEverythingFits_SendsAllOfIt()
    {
        var plan = HistoryWindow.Plan(budget: 1000, systemTokens: 20, summaryTokens: null, summaryCovers: 0, Turns(3));

        Assert.Equal(new HistoryPlan(0, false, 320, 6, 0), plan);
    }

    [Fact]
    public void Plan_WithoutASummary_TrimsTheOldestTurnsWhole()
    {
        var plan = HistoryWindow.Plan(budget: 250, systemTokens: 20, summaryTokens: null, summaryCovers: 0, Turns(3));

        Assert.Equal(2, plan.FirstSent); // 2 turns of 100 fit in 230; a third does not, and half a turn is never sent
        Assert.Equal(220, plan.HistoryTokens);
        Assert.Equal(2, plan.TrimmedMessages);
    }

    [Fact]
    public void Plan_WithASummary_SendsItAndTheMessagesAfterIt()
    {
        var plan = HistoryWindow.Plan(budget: 300, systemTokens: 20, summaryTokens: 40, summaryCovers: 6, Turns(2, first: 6));

        Assert.Equal(new HistoryPlan(6, true, 260, 4, 0), plan);
    }

    [Fact]
    public void Plan_WhenTheSummaryIsBehind_TrimsTheGapBetweenItAndTheNewestTurns()
    {
        var plan = HistoryWindow.Plan(budget: 300, systemTokens: 20, summaryTokens: 40, summaryCovers: 2, Turns(4, first: 2));

        Assert.True(plan.UseSummary);
        Assert.Equal(6, plan.FirstSent);
        Assert.Equal(4, plan.TrimmedMessages);
        Assert.True(plan.HistoryTokens <= 300);
    }

    [Fact]
    public void Plan_DropsASummaryThatDoesNotFitBesideTheSystemPrompt()
    {
        var plan = HistoryWindow.Plan(budget: 300, systemTokens: 200, summaryTokens: 150, summaryCovers: 4, Turns(1, first: 4));

        Assert.False(plan.UseSummary);
        Assert.Equal(300, plan.HistoryTokens);
        Assert.Equal(4, plan.TrimmedMessages);
    }

    [Fact]
    public void PlanFold_IsNothing_WhileTheHistoryFits()
    {
        Assert.Null(HistoryWindow.PlanFold(budget: 1000, summaryAllowance: 100, systemTokens: 20, summaryTokens: null, summaryCovers: 0, Turns(5)));
    }

    [Fact]
    public void PlanFold_FoldsAllButTheNewestTurnsThatFillHalfTheRoom()
    {
        // 10 turns of 100 over a budget of 1000: room for the newest beside a full summary is 1000 - 20 - 100 = 880; half is 440.
        var fold = HistoryWindow.PlanFold(budget: 1000, summaryAllowance: 100, systemTokens: 20, summaryTokens: null, summaryCovers: 0, Turns(10));

        Assert.Equal(new FoldPlan(0, 12), fold); // the newest 4 turns (400 tokens) stay whole
    }

    [Fact]
    public void PlanFold_StartsWhereTheSummaryEnds()
    {
        var fold = HistoryWindow.PlanFold(budget: 1000, summaryAllowance: 100, systemTokens: 20, summaryTokens: 80, summaryCovers: 12,
            Turns(10, first: 12));

        Assert.Equal(new FoldPlan(12, 24), fold);
    }
}
