using Azure;
using Functions.Core.Cache;
using Functions.Core.Requests;

namespace Functions.Core.Jobs;

public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// <summary>
/// One accepted chat request and everything that happened to it. <see cref="ETag"/> guards every update.
/// <see cref="ModelCalls"/> counts calls made (the retry budget spans deliveries); <see cref="LeaseUntil"/> is how long
/// the worker that set it Running owns it; <see cref="RetryAt"/> is when a job sent back to the queue runs again.
/// <see cref="Conversation"/>: the job is a turn of a stored conversation, appended to it when the job succeeds.
/// </summary>
public sealed record Job(
    string Id,
    string Caller,
    JobStatus Status,
    ChatRequest Request,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? CompletedAt = null,
    int ModelCalls = 0,
    JobResult? Result = null,
    JobError? Error = null,
    JobError? LastError = null,
    DateTimeOffset? RetryAt = null,
    DateTimeOffset? LeaseUntil = null,
    ETag ETag = default,
    CacheTicket? Cache = null,
    Conversations.ConversationTurn? Conversation = null)
{
    public bool IsTerminal => Status is JobStatus.Succeeded or JobStatus.Failed;

    public Job Succeed(JobResult result, DateTimeOffset now) =>
        this with { Status = JobStatus.Succeeded, Result = result, Error = null, CompletedAt = now, RetryAt = null, LeaseUntil = null };

    public Job Fail(JobError error, DateTimeOffset now) =>
        this with { Status = JobStatus.Failed, Error = error, LastError = error, CompletedAt = now, RetryAt = null, LeaseUntil = null };
}

/// <summary>
/// The model's answer: its text, or the <see cref="ToolCalls"/> it asks the caller to run. <see cref="Stale"/>: an
/// expired cached answer, served because every candidate model failed (stale-if-error).
/// </summary>
public sealed record JobResult(string Content, string Model, string FinishReason, TokenUsage Usage,
    IReadOnlyList<ToolCall>? ToolCalls = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    bool Stale = false);

/// <summary>
/// Tokens a call used. <see cref="Estimated"/>: the endpoint never reported them (a stream that broke off before its
/// usage chunk), so they were counted here, with the real tokenizer, from what was sent and received.
/// </summary>
public sealed record TokenUsage(int InputTokens, int CachedInputTokens, int OutputTokens,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    bool Estimated = false);

/// <summary>A failure a caller may read: a stable code and a message with no secrets or stack traces in it.</summary>
public sealed record JobError(string Code, string Message);
