using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Functions.Core.Cache;
using Functions.Core.Conversations;
using Functions.Core.Requests;
using Functions.Core.Storage;

namespace Functions.Core.Jobs;

/// <summary>
/// The jobs table: one entity per job, partitioned by job id so every read and write is a point operation.
/// Updates are conditional on the ETag, so two workers can never both record a result. A job too large for one row
/// (an answer over about 1 MiB) spills into overflow rows of its partition (<see cref="RowOverflow"/>).
/// </summary>
public sealed class JobTable(TableClient table)
{
    private const string RowKey = "job";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public TableClient Client => table;

    public async Task<Job> AddAsync(Job job, CancellationToken cancellationToken) =>
        job with { ETag = await RowOverflow.AddAsync(table, ToEntity(job), cancellationToken) };

    public async Task<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var entity = await RowOverflow.GetAsync(table, id, RowKey, cancellationToken);
        return entity is null ? null : FromEntity(entity);
    }

    /// <summary>
    /// The jobs not yet Succeeded or Failed, as a light summary (status, lease, retry time, last write), for the sweeper.
    /// A filtered scan of the table: its cost grows with the table, which the sweeper's schedule bounds.
    /// </summary>
    public async IAsyncEnumerable<UnfinishedJob> QueryUnfinishedAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"RowKey eq {RowKey} and (Status eq {nameof(JobStatus.Queued)} or Status eq {nameof(JobStatus.Running)})");
        await foreach (var entity in table.QueryAsync<TableEntity>(filter,
                           select: ["PartitionKey", "Status", "LeaseUntil", "RetryAt", "ModelCalls", "Timestamp"],
                           cancellationToken: cancellationToken))
        {
            yield return new UnfinishedJob(entity.PartitionKey, Enum.Parse<JobStatus>(entity.GetString("Status")),
                entity.GetDateTimeOffset("LeaseUntil"), entity.GetDateTimeOffset("RetryAt"), entity.Timestamp ?? DateTimeOffset.MinValue);
        }
    }

    /// <summary>Removes a job nobody has seen (its queue message could not be sent), if nobody changed it since.</summary>
    public Task DeleteAsync(Job job, CancellationToken cancellationToken) =>
        table.DeleteEntityAsync(job.Id, RowKey, job.ETag, cancellationToken);

    /// <summary>Removes a job and its overflow rows, whatever its state (its conversation was deleted); a missing job is no error.</summary>
    public async Task RemoveAsync(string id, CancellationToken cancellationToken)
    {
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {id}"), select: ["RowKey"],
                           cancellationToken: cancellationToken))
        {
            try
            {
                await table.DeleteEntityAsync(id, entity.RowKey, ETag.All, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Gone already.
            }
        }
    }

    /// <summary>Replaces the job if nobody changed it since it was read; otherwise throws 412 <see cref="RequestFailedException"/>.</summary>
    public async Task<Job> UpdateAsync(Job job, CancellationToken cancellationToken) =>
        job with { ETag = await RowOverflow.ReplaceAsync(table, ToEntity(job), job.ETag, cancellationToken) };

    private static TableEntity ToEntity(Job job)
    {
        var entity = new TableEntity(job.Id, RowKey)
        {
            ["Caller"] = job.Caller,
            ["Status"] = job.Status.ToString(),
            ["Model"] = job.Request.Model,
            ["CreatedAt"] = job.CreatedAt,
            ["StartedAt"] = job.StartedAt,
            ["CompletedAt"] = job.CompletedAt,
            ["ModelCalls"] = job.ModelCalls,
            ["RetryAt"] = job.RetryAt,
            ["LeaseUntil"] = job.LeaseUntil,
        };
        TextChunks.Write(entity, "Request", SerializeRequest(job.Request));
        if (job.Result is { } result)
        {
            TextChunks.Write(entity, "ResultContent", result.Content);
            entity["ResultModel"] = result.Model;
            entity["FinishReason"] = result.FinishReason;
            entity["InputTokens"] = result.Usage.InputTokens;
            entity["CachedInputTokens"] = result.Usage.CachedInputTokens;
            entity["OutputTokens"] = result.Usage.OutputTokens;
            entity["UsageEstimated"] = result.Usage.Estimated;
            if (result.Stale)
            {
                entity["ResultStale"] = true;
            }
            if (result.ToolCalls is { } toolCalls)
            {
                TextChunks.Write(entity, "ResultToolCalls", JsonSerializer.Serialize(toolCalls, Json));
            }
        }
        WriteError(entity, "Error", job.Error);
        WriteError(entity, "LastError", job.LastError);
        CacheTicket.Write(entity, job.Cache);
        WriteConversation(entity, job.Conversation);
        return entity;
    }

    private static Job FromEntity(TableEntity entity)
    {
        var request = JsonSerializer.Deserialize<ChatRequest>(TextChunks.Read(entity, "Request")!, Json)!;
        var content = TextChunks.Read(entity, "ResultContent");
        var result = content is null
            ? null
            : new JobResult(content, entity.GetString("ResultModel"), entity.GetString("FinishReason"),
                new TokenUsage(entity.GetInt32("InputTokens") ?? 0, entity.GetInt32("CachedInputTokens") ?? 0,
                    entity.GetInt32("OutputTokens") ?? 0, entity.GetBoolean("UsageEstimated") ?? false),
                TextChunks.Read(entity, "ResultToolCalls") is { } toolCalls
                    ? JsonSerializer.Deserialize<List<ToolCall>>(toolCalls, Json)
                    : null,
                entity.GetBoolean("ResultStale") ?? false);
        return new Job(
            entity.PartitionKey,
            entity.GetString("Caller"),
            Enum.Parse<JobStatus>(entity.GetString("Status")),
            request,
            entity.GetDateTimeOffset("CreatedAt")!.Value,
            entity.GetDateTimeOffset("StartedAt"),
            entity.GetDateTimeOffset("CompletedAt"),
            entity.GetInt32("ModelCalls") ?? 0,
            result,
            ReadError(entity, "Error"),
            ReadError(entity, "LastError"),
            entity.GetDateTimeOffset("RetryAt"),
            entity.GetDateTimeOffset("LeaseUntil"),
            entity.ETag,
            CacheTicket.Read(entity),
            ReadConversation(entity));
    }

    /// <summary>The stored form of a request; two requests are the same when these are equal.</summary>
    public static string SerializeRequest(ChatRequest request) => JsonSerializer.Serialize(request, Json);

    private static void WriteConversation(TableEntity entity, ConversationTurn? turn)
    {
        if (turn is not null)
        {
            entity["ConversationId"] = turn.ConversationId;
            entity["ConversationBase"] = turn.BaseCount;
            entity["HistoryTokens"] = turn.HistoryTokens;
            entity["HistoryMessages"] = turn.HistoryMessages;
            entity["SummaryUsed"] = turn.SummaryUsed;
            entity["TrimmedMessages"] = turn.TrimmedMessages;
            entity["SubmittedFingerprint"] = turn.Fingerprint;
        }
    }

    private static ConversationTurn? ReadConversation(TableEntity entity) =>
        entity.GetString("ConversationId") is { } id
            ? new ConversationTurn(id, entity.GetInt32("ConversationBase") ?? 0, entity.GetInt32("HistoryTokens") ?? 0,
                entity.GetInt32("HistoryMessages") ?? 0, entity.GetBoolean("SummaryUsed") ?? false, entity.GetInt32("TrimmedMessages") ?? 0,
                entity.GetString("SubmittedFingerprint") ?? "")
            : null;

    private static void WriteError(TableEntity entity, string prefix, JobError? error)
    {
        if (error is not null)
        {
            entity[prefix + "Code"] = error.Code;
            entity[prefix + "Message"] = error.Message;
        }
    }

    private static JobError? ReadError(TableEntity entity, string prefix) =>
        entity.GetString(prefix + "Code") is { } code ? new JobError(code, entity.GetString(prefix + "Message") ?? "") : null;
}

/// <summary>What the sweeper needs to know of an unfinished job without reading its request or answer.</summary>
public sealed record UnfinishedJob(string Id, JobStatus Status, DateTimeOffset? LeaseUntil, DateTimeOffset? RetryAt, DateTimeOffset LastWrite);
