using Microsoft.Extensions.Logging;

namespace Functions.Core.ChatCompletions;

internal static partial class ChatCompletionsLog
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Chat completion {Id} for caller {CallerHash} answered from the cache")]
    public static partial void CacheHit(ILogger logger, string id, string callerHash);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information,
        Message = "Chat completion {Id} on {Model}: {InputTokens} input and {OutputTokens} output tokens{Estimated}, {ModelCalls} model calls, {ElapsedMs} ms")]
    public static partial void Completed(ILogger logger, string id, string model, int inputTokens, int outputTokens, string estimated,
        int modelCalls, long elapsedMs);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Chat completion {Id} failed: {Code} after {ModelCalls} model calls")]
    public static partial void Failed(ILogger logger, string id, string code, int modelCalls);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information,
        Message = "Chat completion {Id}: the caller went away after {ModelCalls} model calls; what was generated is recorded")]
    public static partial void Cancelled(ILogger logger, string id, int modelCalls);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Error, Message = "Storage failed while admitting a chat completion")]
    public static partial void StorageFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "Chat completion {Id} answered by an identical request's model call")]
    public static partial void Collapsed(ILogger logger, string id);
}
