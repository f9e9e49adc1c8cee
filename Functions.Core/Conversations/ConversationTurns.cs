using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Storage;
using Functions.Core.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Conversations;

/// <summary>
/// A turn that holds its conversation: the request to send (history added) and what the job carries of it.
/// <see cref="Reentered"/>: the same turn id held it already (a twin submit with the same Idempotency-Key), so giving
/// it back is the twin's business, not this one's.
/// </summary>
public sealed record BegunTurn(ChatRequest Request, ConversationTurn Turn, bool Reentered);

/// <summary>
/// The two hooks both doors call for a turn of a stored conversation. <see cref="BeginAsync"/>, before admission:
/// takes the conversation for the turn (one turn at a time: another is 409) and expands the one new message into the
/// request the model is sent: the system prompt, the summary once older turns no longer fit, and the newest turns that
/// fit the history budget (<see cref="HistoryWindow"/>). <see cref="AppendAsync"/>, when the turn has its answer: adds
/// the question and the answer in one transaction keyed by the turn, so a retry or redelivery appends once, and gives
/// the conversation back. <see cref="ReleaseAsync"/> gives it back when the turn failed (nothing is appended).
/// </summary>
public sealed class ConversationTurns(
    ConversationTable table,
    JobTable jobs,
    TokenCounter tokens,
    SummaryQueue summaries,
    IOptions<ConversationsOptions> options,
    IOptions<Resilience.ResilienceOptions> resilience,
    IOptions<Completions.OpenAIOptions> openAI,
    TimeProvider time,
    ILogger<ConversationTurns> logger)
{
    private const int MaxRounds = 5;
    public const string SummaryPrefix = "Summary of the earlier conversation: ";

    /// <summary>
    /// How long an interactive turn may hold its conversation if its host dies mid-call (it gives it back on every other
    /// exit). Nothing renews the hold while the call runs, so it must outlast the longest call the door lets run: two
    /// model calls at their network timeout (a retry happens only before the first byte). A queued turn's hold is its job's.
    /// </summary>
    public TimeSpan InteractiveHold => 2 * openAI.Value.NetworkTimeout;

    /// <param name="submitted">The request as read: one user message and its <see cref="ChatRequest.Conversation"/>.</param>
    /// <param name="turnId">The job (or interactive call) that answers it; taking the conversation again with it is no conflict.</param>
    /// <param name="hold">How long the turn may hold the conversation if it is never finished (its worker died); by default
    /// as long as a queued job can live: its deadline and one processing lease.</param>
    public async Task<(BegunTurn? Turn, IResult? Problem)> BeginAsync(string caller, ChatRequest submitted, string turnId, TimeSpan? hold,
        CancellationToken cancellationToken)
    {
        var id = submitted.Conversation!.Id;
        var holdFor = hold ?? resilience.Value.JobDeadline + resilience.Value.ProcessingLease;
        Conversation? held = null;
        var reentered = false;
        try
        {
            for (var round = 1; held is null; round++)
            {
                var conversation = await table.GetAsync(caller, id, cancellationToken);
                if (conversation is null || conversation.Deleting)
                {
                    return (null, ConversationProblems.NotFound(id));
                }
                if (conversation.MessageCount + 2 > options.Value.MaxMessages)
                {
                    return (null, ConversationProblems.Full(id, options.Value.MaxMessages));
                }
                var now = time.GetUtcNow();
                var holder = conversation.HeldBy(now);
                if (holder is not null && holder != turnId && !await IsFinishedJobAsync(holder, cancellationToken))
                {
                    return (null, ConversationProblems.TurnInProgress(id));
                }
                reentered = holder == turnId;
                try
                {
                    held = await table.UpdateAsync(conversation with { PendingTurn = turnId, PendingUntil = now + holdFor }, cancellationToken);
                }
                catch (RequestFailedException ex) when (ex.Status == 412 && round < MaxRounds)
                {
                    // Changed since read (another turn, a summary): look again.
                }
            }
            return (await ExpandAsync(held, submitted, reentered, cancellationToken), null);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            ConversationsLog.StorageFailed(logger, ex);
            if (held is not null && !reentered)
            {
                await ReleaseAsync(caller, id, turnId);
            }
            return (null, ApiProblems.StorageUnavailable());
        }
    }

    /// <summary>
    /// Appends the succeeded turn's question and answer, once: a turn found appended already (a redelivery after the
    /// job's own success write failed) returns the job with the answer the conversation holds, so job and history agree.
    /// Never fails the turn: a conversation deleted meanwhile, or one that moved on without this turn, is logged.
    /// </summary>
    public async Task<Job> AppendAsync(Job succeeded)
    {
        var turn = succeeded.Conversation!;
        var answer = succeeded.Result!;
        for (var round = 1; ; round++)
        {
            var conversation = await table.GetAsync(succeeded.Caller, turn.ConversationId, CancellationToken.None);
            if (conversation is null || conversation.Deleting)
            {
                ConversationsLog.NotAppended(logger, turn.ConversationId, succeeded.Id, "the conversation was deleted");
                return succeeded;
            }
            var now = time.GetUtcNow();
            // Onto exactly the history the turn was sent with, and only while no other turn holds the conversation (its
            // own hold may have lapsed; nothing moved meanwhile, so nothing can interleave).
            if (conversation.MessageCount != turn.BaseCount
                || (conversation.PendingTurn != succeeded.Id && conversation.HeldBy(now) is not null))
            {
                return await AppendedAlreadyAsync(conversation, succeeded) ?? NotAppended(succeeded, "another turn holds the conversation");
            }

            var model = succeeded.Request.Model;
            var question = succeeded.Request.Messages[^1];
            StoredMessage[] messages =
            [
                Stored(conversation.MessageCount, question.Role, question.Content, model, succeeded.Id, now),
                Stored(conversation.MessageCount + 1, ChatRoles.Assistant, answer.Content, model, succeeded.Id, now),
            ];
            var updated = conversation with
            {
                MessageCount = conversation.MessageCount + messages.Length, LastActivityAt = now, PendingTurn = null, PendingUntil = null,
                Title = conversation.Title ?? TitleOf(question.Content),
            };
            try
            {
                await table.AppendAsync(conversation, updated, messages, succeeded.Id, CancellationToken.None);
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && round < MaxRounds)
            {
                continue; // changed since read, or appended by a twin delivery: the next round tells which
            }
            ConversationsLog.Appended(logger, turn.ConversationId, succeeded.Id, messages[0].Index, messages[1].Index);
            await RequestSummaryIfDueAsync(updated);
            return succeeded;
        }
    }

    /// <summary>Gives the conversation back after a turn that appends nothing (it failed). Never throws.</summary>
    public Task ReleaseAsync(Job job) =>
        job.Conversation is { } turn ? ReleaseAsync(job.Caller, turn.ConversationId, job.Id) : Task.CompletedTask;

    /// <summary>Gives back what <see cref="BeginAsync"/> took, for a turn that was never admitted. Never throws.</summary>
    public Task ReleaseAsync(string caller, string turnId, BegunTurn begun) =>
        begun.Reentered ? Task.CompletedTask : ReleaseAsync(caller, begun.Turn.ConversationId, turnId);

    private async Task ReleaseAsync(string caller, string id, string turnId)
    {
        try
        {
            for (var round = 1; round <= MaxRounds; round++)
            {
                var conversation = await table.GetAsync(caller, id, CancellationToken.None);
                if (conversation is null || conversation.Deleting || conversation.PendingTurn != turnId)
                {
                    return;
                }
                try
                {
                    await table.UpdateAsync(conversation with { PendingTurn = null, PendingUntil = null }, CancellationToken.None);
                    return;
                }
                catch (RequestFailedException ex) when (ex.Status == 412)
                {
                    // Changed since read: look again.
                }
            }
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            // The hold lapses at its PendingUntil; until then the next turn is refused with 409.
            ConversationsLog.ReleaseFailed(logger, id, turnId, ex);
        }
    }

    private async Task<BegunTurn> ExpandAsync(Conversation conversation, ChatRequest submitted, bool reentered, CancellationToken cancellationToken)
    {
        var model = submitted.Conversation!.ModelNamed ? submitted.Model : conversation.Model;
        var encoding = TokenEncoding.ForModel(model).Name;
        var summary = conversation.Summary;
        var covers = summary?.Covers ?? 0;
        var stored = await table.ReadMessagesAsync(conversation.Caller, conversation.Id, covers, limit: null, cancellationToken);
        // Counted once when stored; again only when this turn's model reads text with another tokenizer.
        var history = stored.Select(message => message.Encoding == encoding
            ? message
            : message with { Tokens = MessageTokens(model, message.Role, message.Content), Encoding = encoding }).ToList();

        var systemTokens = conversation.SystemPrompt is { } prompt ? MessageTokens(model, ChatRoles.System, prompt) : 0;
        int? summaryTokens = summary is null ? null : MessageTokens(model, ChatRoles.System, SummaryPrefix + summary.Text);
        var plan = HistoryWindow.Plan(options.Value.MaxHistoryTokens, systemTokens, summaryTokens, covers, history);

        var messages = new List<ChatMessage>();
        if (conversation.SystemPrompt is { } system)
        {
            messages.Add(new ChatMessage(ChatRoles.System, system));
        }
        if (plan.UseSummary)
        {
            messages.Add(new ChatMessage(ChatRoles.System, SummaryPrefix + summary!.Text));
        }
        messages.AddRange(history.Where(message => message.Index >= plan.FirstSent).Select(message => new ChatMessage(message.Role, message.Content)));
        messages.Add(submitted.Messages[^1]);

        var turn = new ConversationTurn(conversation.Id, conversation.MessageCount, plan.HistoryTokens, plan.SentMessages, plan.UseSummary,
            plan.TrimmedMessages, Fingerprint(submitted));
        ConversationsLog.Expanded(logger, conversation.Id, conversation.PendingTurn!, plan.HistoryTokens, plan.SentMessages, plan.UseSummary,
            plan.TrimmedMessages);
        return new BegunTurn(submitted with { Messages = messages, Model = model, Conversation = null }, turn, reentered);
    }

    /// <summary>The request as submitted, for an Idempotency-Key replay to be compared by (the history it was sent with changes).</summary>
    public static string Fingerprint(ChatRequest submitted) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JobTable.SerializeRequest(submitted))));

    /// <summary>A message's cost in a prompt: its content and role and the chat format's frame around them.</summary>
    public int MessageTokens(string model, string role, string content) =>
        TokenCounter.TokensPerMessage + tokens.CountText(model, role) + tokens.CountText(model, content);

    private StoredMessage Stored(int index, string role, string content, string model, string turnId, DateTimeOffset now) =>
        new(index, role, content, MessageTokens(model, role, content), TokenEncoding.ForModel(model).Name, turnId, now);

    private async Task<Job?> AppendedAlreadyAsync(Conversation conversation, Job succeeded)
    {
        if (await table.FindTurnAsync(conversation.Caller, conversation.Id, succeeded.Id, CancellationToken.None) is not { } first)
        {
            return null;
        }
        ConversationsLog.AlreadyAppended(logger, conversation.Id, succeeded.Id);
        var stored = await table.ReadMessagesAsync(conversation.Caller, conversation.Id, first + 1, limit: 1, CancellationToken.None);
        return stored is [{ Role: ChatRoles.Assistant } answer]
            ? succeeded with { Result = succeeded.Result! with { Content = answer.Content } }
            : succeeded;
    }

    private Job NotAppended(Job succeeded, string reason)
    {
        ConversationsLog.NotAppended(logger, succeeded.Conversation!.ConversationId, succeeded.Id, reason);
        return succeeded;
    }

    /// <summary>Queues a summary call when the next turn would otherwise have to trim; a failure here only means trimming.</summary>
    private async Task RequestSummaryIfDueAsync(Conversation conversation)
    {
        var settings = options.Value;
        if (settings.SummaryModel.Length == 0)
        {
            return;
        }
        try
        {
            var covers = conversation.Summary?.Covers ?? 0;
            var history = await table.ReadMessagesAsync(conversation.Caller, conversation.Id, covers, limit: null, CancellationToken.None);
            var model = conversation.Model;
            var systemTokens = conversation.SystemPrompt is { } prompt ? MessageTokens(model, ChatRoles.System, prompt) : 0;
            int? summaryTokens = conversation.Summary is { } summary ? MessageTokens(model, ChatRoles.System, SummaryPrefix + summary.Text) : null;
            if (HistoryWindow.PlanFold(settings.MaxHistoryTokens, settings.SummaryMaxTokens, systemTokens, summaryTokens, covers, history) is not null)
            {
                await summaries.EnqueueAsync(conversation.Caller, conversation.Id, CancellationToken.None);
            }
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            ConversationsLog.SummaryNotQueued(logger, conversation.Id, ex);
        }
    }

    /// <summary>A hold whose job has finished is stale (its release failed): the next turn may take the conversation.</summary>
    private async Task<bool> IsFinishedJobAsync(string turnId, CancellationToken cancellationToken) =>
        JobIds.IsWellFormed(turnId) && await jobs.GetAsync(turnId, cancellationToken) is { IsTerminal: true };

    private static string TitleOf(string firstMessage)
    {
        var line = firstMessage.ReplaceLineEndings(" ").Trim();
        if (line.Length <= 60)
        {
            return line;
        }
        var cut = char.IsHighSurrogate(line[56]) ? 56 : 57; // never half a surrogate pair
        return line[..cut].TrimEnd() + "…";
    }
}
