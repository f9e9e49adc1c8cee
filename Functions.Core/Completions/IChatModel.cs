using Functions.Core.Jobs;
using Functions.Core.Requests;

namespace Functions.Core.Completions;

/// <summary>One call to the language model, whole or streamed. Failures surface as <see cref="ModelCallException"/>.</summary>
public interface IChatModel
{
    Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The answer as the model writes it: text and tool-call fragments, then the finish reason and, last, the usage
    /// (the stream always asks the endpoint for it). A failure can come before the first update or in the middle.
    /// </summary>
    IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request, CancellationToken cancellationToken);
}

/// <summary>One streamed update. Every member is optional: most updates carry a little <see cref="Content"/> only.</summary>
public sealed record ChatDelta(
    string? Content = null,
    string? Model = null,
    string? FinishReason = null,
    TokenUsage? Usage = null,
    IReadOnlyList<ToolCallDelta>? ToolCalls = null);

/// <summary>A fragment of tool call <see cref="Index"/>: its id and name arrive first, its arguments in pieces.</summary>
public sealed record ToolCallDelta(int Index, string? Id, string? Name, string? Arguments);
