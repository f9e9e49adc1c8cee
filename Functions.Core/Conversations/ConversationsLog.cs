using Microsoft.Extensions.Logging;

namespace Functions.Core.Conversations;

internal static partial class ConversationsLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information,
        Message = "Conversation {ConversationId} turn {TurnId}: {HistoryTokens} history tokens in {HistoryMessages} messages, summary {SummaryUsed}, {TrimmedMessages} trimmed")]
    public static partial void Expanded(ILogger logger, string conversationId, string turnId, int historyTokens, int historyMessages,
        bool summaryUsed, int trimmedMessages);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Conversation {ConversationId}: turn {TurnId} appended as messages {First} and {Second}")]
    public static partial void Appended(ILogger logger, string conversationId, string turnId, int first, int second);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Conversation {ConversationId}: turn {TurnId} was appended already")]
    public static partial void AlreadyAppended(ILogger logger, string conversationId, string turnId);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning,
        Message = "Conversation {ConversationId}: turn {TurnId} not appended: {Reason}")]
    public static partial void NotAppended(ILogger logger, string conversationId, string turnId, string reason);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Warning, Message = "Conversation {ConversationId}: could not release turn {TurnId}")]
    public static partial void ReleaseFailed(ILogger logger, string conversationId, string turnId, Exception exception);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Information,
        Message = "Conversation {ConversationId}: summary extended over messages {From} to {To} by {Model} ({InputTokens} in, {OutputTokens} out)")]
    public static partial void Summarised(ILogger logger, string conversationId, int from, int to, string model, int inputTokens, int outputTokens);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Warning,
        Message = "Conversation {ConversationId}: summary not made ({Reason}); turns that do not fit are trimmed until a later one succeeds")]
    public static partial void SummaryFailed(ILogger logger, string conversationId, string reason);

    [LoggerMessage(EventId = 1507, Level = LogLevel.Warning, Message = "Conversation {ConversationId}: the summary request could not be queued")]
    public static partial void SummaryNotQueued(ILogger logger, string conversationId, Exception exception);

    [LoggerMessage(EventId = 1508, Level = LogLevel.Error, Message = "Storage failed in the conversations API")]
    public static partial void StorageFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1509, Level = LogLevel.Information,
        Message = "Conversation {ConversationId} deleted for caller {Caller}: {Rows} rows and the jobs of {Turns} turns")]
    public static partial void Deleted(ILogger logger, string conversationId, string caller, int rows, int turns);

    [LoggerMessage(EventId = 1510, Level = LogLevel.Warning, Message = "Unreadable summary request ({Length} characters) dropped")]
    public static partial void UnreadableMessage(ILogger logger, int length);
}
