using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Functions.Core.Conversations;

/// <summary>The problem+json answers of the conversations API; each carries a stable <c>code</c>.</summary>
public static class ConversationProblems
{
    /// <summary>Another caller's conversation answers exactly like a missing one, so ids cannot be probed.</summary>
    public static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such conversation.",
            detail: $"There is no conversation '{id}' for this caller.",
            extensions: new Dictionary<string, object?> { ["code"] = "conversation_not_found" });

    public static ProblemHttpResult Full(string id, int maxMessages) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The conversation is full.",
            detail: $"Conversation '{id}' holds its limit of {maxMessages} messages; start a new conversation to go on.",
            extensions: new Dictionary<string, object?> { ["code"] = "conversation_full", ["maxMessages"] = maxMessages });

    public static ProblemHttpResult TurnInProgress(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "A turn is already being answered.",
            detail: $"Conversation '{id}' is answering another message. Wait for that answer, then send this message again.",
            extensions: new Dictionary<string, object?> { ["code"] = "turn_in_progress" });
}
