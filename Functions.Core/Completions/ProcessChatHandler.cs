using Azure;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Completions;

/// <summary>
/// The queue trigger's work: run one job through the model and record the outcome once.
/// Transient failures are rethrown so the host redelivers the message (its dequeue count and poison queue depend on
/// the throw); permanent ones end the job as <see cref="JobStatus.Failed"/> and return.
/// </summary>
public sealed class ProcessChatHandler(
    JobTable jobs,
    IChatModel model,
    SpendLedger ledger,
    BudgetReservations budgets,
    TimeProvider time,
    ILogger<ProcessChatHandler> logger)
{
    public async Task HandleAsync(string messageText, CancellationToken cancellationToken)
    {
        if (JobMessage.TryParse(messageText) is not { } message)
        {
            // No job id means no job to finish; retrying cannot help.
            CompletionsLog.UnreadableMessage(logger, messageText.Length);
            return;
        }

        var job = await jobs.GetAsync(message.JobId, cancellationToken);
        if (job is null)
        {
            CompletionsLog.JobMissing(logger, message.JobId);
            return;
        }
        if (job.IsTerminal)
        {
            // A redelivery after the outcome was recorded: no second model call, no second usage record.
            CompletionsLog.AlreadyFinished(logger, job.Id, job.Status);
            return;
        }

        var started = time.GetTimestamp();
        job = await jobs.UpdateAsync(job with { Status = JobStatus.Running, StartedAt = time.GetUtcNow(), Attempts = job.Attempts + 1 },
            cancellationToken);

        JobResult result;
        try
        {
            result = await model.CompleteAsync(job.Request, cancellationToken);
        }
        catch (ModelCallException ex) when (!ex.IsTransient)
        {
            await budgets.ReleaseAsync(job, cancellationToken);
            await jobs.UpdateAsync(job.Fail(ex.ToJobError(), time.GetUtcNow()), cancellationToken);
            CompletionsLog.Failed(logger, job.Id, ex.Code, ex.Status);
            return;
        }
        catch (ModelCallException ex)
        {
            await RecordRetryAsync(job, ex.ToJobError());
            CompletionsLog.WillRetry(logger, job.Id, job.Attempts, ex.Code, ex.Status);
            throw;
        }

        // Spend first: if recording fails the message is redelivered, and the ledger and settle are idempotent per attempt.
        var cost = await ledger.RecordCallAsync(job, result, cancellationToken);
        await budgets.SettleAsync(job, cost, cancellationToken);
        await jobs.UpdateAsync(job.Succeed(result, time.GetUtcNow()), cancellationToken);
        CompletionsLog.Succeeded(logger, job.Id, result.Model, result.Usage.InputTokens, result.Usage.OutputTokens,
            (long)time.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Back to Queued with the reason, so a poll shows the job is waiting and the poison handler can say why.</summary>
    private async Task RecordRetryAsync(Job job, JobError error)
    {
        try
        {
            await jobs.UpdateAsync(job with { Status = JobStatus.Queued, LastError = error }, CancellationToken.None);
        }
        catch (RequestFailedException ex)
        {
            CompletionsLog.RetryNotRecorded(logger, job.Id, ex);
        }
    }
}
