using System.Text;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Tokens;

namespace Functions.Core.Completions;

/// <summary>
/// Puts a streamed answer back together: its text, its tool calls, the finish reason and the endpoint's usage. When a
/// stream ends without usage (it broke off, or the endpoint does not report it), the tokens are counted here with the
/// real tokenizer and marked estimated, so a streamed call is charged like any other.
/// </summary>
public sealed class StreamedAnswer(ChatRequest request)
{
    private readonly StringBuilder content = new();
    private readonly SortedDictionary<int, (string? Id, string? Name, StringBuilder Arguments)> toolCalls = [];
    private string? model;
    private string? finishReason;
    private TokenUsage? usage;

    /// <summary>True once the model has generated anything: from then on the call is paid for, whatever happens.</summary>
    public bool HasOutput => content.Length > 0 || toolCalls.Count > 0;

    public string Text => content.ToString();

    /// <summary>
    /// True once the model said why it stopped. Every OpenAI-compatible stream ends its answer with a finish reason; one
    /// that ends without (a body that was not an event stream, a connection closed early) did not deliver an answer.
    /// </summary>
    public bool IsComplete => finishReason is not null;

    public void Add(ChatDelta delta)
    {
        content.Append(delta.Content);
        model ??= delta.Model;
        finishReason = delta.FinishReason ?? finishReason;
        usage = delta.Usage ?? usage;
        foreach (var call in delta.ToolCalls ?? [])
        {
            var (id, name, arguments) = toolCalls.TryGetValue(call.Index, out var known) ? known : (null, null, new StringBuilder());
            toolCalls[call.Index] = (id ?? call.Id, name ?? call.Name, arguments.Append(call.Arguments));
        }
    }

    /// <summary>The whole answer, with the endpoint's usage or, failing that, an estimate.</summary>
    public JobResult ToResult(TokenCounter tokens)
    {
        var resolvedModel = model ?? request.Model;
        var calls = toolCalls.Count == 0
            ? null
            : toolCalls.Values.Select(call => new ToolCall(call.Id ?? "", call.Name ?? "", call.Arguments.ToString())).ToList();
        return new JobResult(Text, resolvedModel, finishReason ?? (calls is null ? "stop" : "tool_calls"),
            usage ?? Estimate(tokens, resolvedModel, calls), calls);
    }

    /// <summary>What a stream that broke off had generated, and so cost, up to the break (its finish reason says so).</summary>
    public JobResult? Paid(TokenCounter tokens) => HasOutput || usage is not null
        ? ToResult(tokens) with { FinishReason = finishReason ?? "interrupted" }
        : null;

    private TokenUsage Estimate(TokenCounter tokens, string resolvedModel, IReadOnlyList<ToolCall>? calls)
    {
        var output = tokens.CountText(resolvedModel, Text)
                     + (calls ?? []).Sum(call => tokens.CountText(resolvedModel, call.Name + call.Arguments));
        return new TokenUsage(tokens.EstimateInputTokens(request), 0, output, Estimated: true);
    }
}
