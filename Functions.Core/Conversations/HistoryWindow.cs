namespace Functions.Core.Conversations;

/// <summary>What of the stored history a turn sends: its messages from <see cref="FirstSent"/> on, and the summary or not.</summary>
public sealed record HistoryPlan(int FirstSent, bool UseSummary, int HistoryTokens, int SentMessages, int TrimmedMessages);

/// <summary>Which messages the next summary call folds into the summary: <see cref="From"/> (inclusive) to <see cref="To"/>.</summary>
public sealed record FoldPlan(int From, int To);

/// <summary>
/// The history budget, as arithmetic over token counts (no storage, no tokenizer): the system prompt always; the newest
/// turns whole while they fit; and, once older turns no longer fit, the summary of them in their place. A turn's
/// messages (those one job or call added) are sent all or none, so a question never arrives without its answer.
/// </summary>
public static class HistoryWindow
{
    /// <summary>
    /// The plan for a turn. <paramref name="messages"/> are the stored messages the summary does not cover, in order
    /// (all of them when there is no summary); <paramref name="summaryTokens"/> is null without a summary.
    /// </summary>
    public static HistoryPlan Plan(int budget, int systemTokens, int? summaryTokens, int summaryCovers, IReadOnlyList<StoredMessage> messages)
    {
        var useSummary = summaryTokens is { } summary && summaryCovers > 0 && systemTokens + summary <= budget;
        var room = budget - systemTokens - (useSummary ? summaryTokens!.Value : 0);
        var (first, used) = NewestTurnsWithin(messages, room);
        var firstSent = first < messages.Count ? messages[first].Index : summaryCovers + messages.Count;
        return new HistoryPlan(
            FirstSent: firstSent,
            UseSummary: useSummary,
            HistoryTokens: systemTokens + (useSummary ? summaryTokens!.Value : 0) + used,
            SentMessages: messages.Count - first,
            // What lies between the summary (or the start) and the first message sent is lost to this turn.
            TrimmedMessages: first + (summaryCovers > 0 && !useSummary ? summaryCovers : 0));
    }

    /// <summary>
    /// Whether the conversation needs its summary extended before the next turn, and by which messages. It does once the
    /// messages the summary does not cover no longer fit the budget beside it (the next turn would have to trim); it then
    /// folds in all but the newest turns that fill half of what is left beside a full-sized summary, so that several turns
    /// go by before the next summary call, each call reading only turns it has not read before.
    /// </summary>
    public static FoldPlan? PlanFold(int budget, int summaryAllowance, int systemTokens, int? summaryTokens, int summaryCovers,
        IReadOnlyList<StoredMessage> messages)
    {
        var room = budget - systemTokens - (summaryTokens ?? 0);
        if (messages.Count == 0 || messages.Sum(message => message.Tokens) <= room)
        {
            return null;
        }
        var verbatimRoom = budget - systemTokens - summaryAllowance;
        if (verbatimRoom <= 0)
        {
            return null; // the system prompt leaves no room for a summary: trimming is all there is
        }
        var (first, _) = NewestTurnsWithin(messages, verbatimRoom / 2);
        if (first == 0)
        {
            first = TurnStarts(messages).Where(start => start > 0).DefaultIfEmpty(messages.Count).First();
        }
        var to = first < messages.Count ? messages[first].Index : summaryCovers + messages.Count;
        return to > summaryCovers ? new FoldPlan(summaryCovers, to) : null;
    }

    /// <returns>The position in <paramref name="messages"/> of the first message of the newest whole turns within
    /// <paramref name="room"/> tokens (<c>messages.Count</c> when not even the newest fits), and the tokens they take.</returns>
    private static (int First, int Used) NewestTurnsWithin(IReadOnlyList<StoredMessage> messages, int room)
    {
        var first = messages.Count;
        var used = 0;
        foreach (var start in TurnStarts(messages).Reverse())
        {
            var tokens = 0;
            for (var i = start; i < first; i++)
            {
                tokens += messages[i].Tokens;
            }
            if (used + tokens > room)
            {
                break;
            }
            used += tokens;
            first = start;
        }
        return (first, used);
    }

    /// <summary>The positions where a turn begins: a message whose turn differs from the one before it.</summary>
    private static IEnumerable<int> TurnStarts(IReadOnlyList<StoredMessage> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            if (i == 0 || messages[i].TurnId != messages[i - 1].TurnId)
            {
                yield return i;
            }
        }
    }
}
