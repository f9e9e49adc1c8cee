using Functions.Core.Requests;

namespace Functions.Core.ChatCompletions;

/// <summary>A validated request to the OpenAI-compatible door: the shared <see cref="ChatRequest"/> and how to answer it.</summary>
public sealed record ChatCompletionCall(ChatRequest Request, bool Stream, bool IncludeUsage);

public static class ChatCompletionRoutes
{
    /// <summary>Under the hosts' <c>/api</c> prefix, so an SDK's <c>baseURL</c> is <c>{origin}/api/v1</c>.</summary>
    public const string Completions = "v1/chat/completions";
}
