using System.Text;
using Azure;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Conversations;

/// <summary>
/// The <c>SummarizeConversation</c> queue trigger's work: extend a conversation's running summary by the turns that
/// no longer fit its history budget (<see cref="HistoryWindow.PlanFold"/>), with the cheaper summary model. The call is
/// a paid call of the conversation's caller like any other: through the shared <see cref="ModelCaller"/> (gate, circuit,
/// classification), admitted by the caller's rate limit (its tokens count like the turn's own) and a budget reservation
/// first, and <see cref="PaidCallRecorder"/> after, its ledger rows of kind <see cref="LedgerEntry.Summary"/> so the
/// spend report shows them as summaries. It makes one model call: a closed gate, limit or budget, or a failed call leaves
/// the summary as it was, so the next turns trim instead, and the next turn that still overflows asks again; whatever
/// was held for a call that was not paid for is given back on every path. A storage fault before the call is thrown for
/// the queue to retry; a paid answer is never thrown for redelivery to pay a second time.
/// </summary>
public sealed class ConversationSummarizer(
    ConversationTable table,
    ConversationTurns turns,
    ModelCaller model,
    PaidCallRecorder recorder,
    CallerRateLimiter rateLimits,
    WorstCaseTokens worstCase,
    BudgetReservations budgets,
    IOptions<ConversationsOptions> options,
    TimeProvider time,
    ILogger<ConversationSummarizer> logger)
{
    private const int MaxRounds = 5;

    /// <summary>A summary is the conversation's own work, not a request of the caller's: it is limited as the caller without a role.</summary>
    private static readonly IReadOnlySet<string> NoRoles = new HashSet<string>();

    public const string Instructions =
        "You keep the running summary of a conversation between a user and an assistant. Merge the new turns into the " +
        "existing summary. Keep every fact, name, number, decision, preference and open question that later turns may " +
        "need; drop pleasantries. Write plain prose in the conversation's language, no preamble.";

    public async Task HandleAsync(string messageText, CancellationToken cancellationToken)
    {
        if (SummaryMessage.TryParse(messageText) is not { } message)
        {
            ConversationsLog.UnreadableMessage(logger, messageText.Length);
            return;
        }
        var settings = options.Value;
        var conversation = await table.GetAsync(message.Caller, message.ConversationId, cancellationToken);
        if (conversation is null || conversation.Deleting || settings.SummaryModel.Length == 0)
        {
            return;
        }

        var covers = conversation.Summary?.Covers ?? 0;
        var history = await table.ReadMessagesAsync(conversation.Caller, conversation.Id, covers, limit: null, cancellationToken);
        var systemTokens = conversation.SystemPrompt is { } prompt ? turns.MessageTokens(conversation.Model, ChatRoles.System, prompt) : 0;
        int? summaryTokens = conversation.Summary is { } current
            ? turns.MessageTokens(conversation.Model, ChatRoles.System, ConversationTurns.SummaryPrefix + current.Text)
            : null;
        if (HistoryWindow.PlanFold(settings.MaxHistoryTokens, settings.SummaryMaxTokens, systemTokens, summaryTokens, covers, history)
            is not { } fold)
        {
            return; // a twin message, or another summary got there first
        }
        var request = SummaryRequest(conversation.Summary?.Text, history.Where(m => m.Index >= fold.From && m.Index < fold.To), settings);
        var now = time.GetUtcNow();
        var call = new Job(JobIds.New(time), conversation.Caller, JobStatus.Running, request, now, StartedAt: now, ModelCalls: 1);
        if (!(await rateLimits.AdmitAsync(call.Caller, NoRoles, worstCase.For(request), cancellationToken)).Admitted)
        {
            ConversationsLog.SummaryFailed(logger, conversation.Id, "the caller's rate limit is reached");
            return;
        }
        var paidFor = false;
        try
        {
            if (await budgets.ReserveHereAsync(call, cancellationToken) is { } exceeded) // settled here, after the call
            {
                ConversationsLog.SummaryFailed(logger, conversation.Id, $"the {exceeded.Budget.Name} budget is spent");
                return;
            }
            // The summary is never worth a wait (the next turn trims instead and asks again), so a pacing wait holds no slot.
            if (await model.WaitBeforeCallAsync(call, holdWithin: TimeSpan.Zero, cancellationToken) is { } gate)
            {
                ConversationsLog.SummaryFailed(logger, conversation.Id, $"the model is held back ({gate.Reason})");
                return;
            }

            var outcome = await model.CallAsync(call, CancellationToken.None);
            if (outcome.Paid is { } paid)
            {
                paidFor = true;
                await recorder.RecordAsync(call, paid, LedgerEntry.Summary);
            }
            if (outcome.Result is not { Content.Length: > 0 } result)
            {
                ConversationsLog.SummaryFailed(logger, conversation.Id, outcome.Error?.Code ?? "an empty answer");
                return;
            }
            if (await StoreAsync(conversation, fold, result.Content.Trim()))
            {
                ConversationsLog.Summarised(logger, conversation.Id, fold.From, fold.To, result.Model, result.Usage.InputTokens, result.Usage.OutputTokens);
            }
        }
        catch (Exception ex) when (paidFor && StorageFailure.Is(ex))
        {
            ConversationsLog.SummaryFailed(logger, conversation.Id, "storage failed while recording it");
        }
        finally
        {
            if (!paidFor)
            {
                await budgets.ReleaseAsync(call, CancellationToken.None); // a no-op when nothing was reserved
                await rateLimits.ReleaseAsync(call, CancellationToken.None);
            }
        }
    }

    /// <summary>The summary call: the instructions, then the summary so far and the turns to fold into it.</summary>
    public static ChatRequest SummaryRequest(string? summary, IEnumerable<StoredMessage> turns, ConversationsOptions settings)
    {
        var text = new StringBuilder();
        text.Append("Summary so far:\n").Append(summary ?? "(none yet)").Append("\n\nNew turns:\n");
        foreach (var message in turns)
        {
            text.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
        }
        text.Append("\nWrite the updated summary.");
        return new ChatRequest(
            [new ChatMessage(ChatRoles.System, Instructions), new ChatMessage(ChatRoles.User, text.ToString())],
            settings.SummaryModel, Temperature: 0, MaxTokens: settings.SummaryMaxTokens);
    }

    /// <returns>True once stored; false when the summary changed meanwhile (another summary call extended it).</returns>
    private async Task<bool> StoreAsync(Conversation read, FoldPlan fold, string text)
    {
        for (var round = 1; round <= MaxRounds; round++)
        {
            var conversation = round == 1 ? read : await table.GetAsync(read.Caller, read.Id, CancellationToken.None);
            if (conversation is null || conversation.Deleting || (conversation.Summary?.Covers ?? 0) != fold.From)
            {
                return false;
            }
            try
            {
                await table.UpdateAsync(conversation with
                {
                    Summary = new ConversationSummary(text, fold.To, (conversation.Summary?.Calls ?? 0) + 1, time.GetUtcNow()),
                }, CancellationToken.None);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // A turn was appended or taken meanwhile: the messages folded are unchanged, so write over the fresh head.
            }
        }
        return false;
    }
}
