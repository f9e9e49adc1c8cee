using Functions.Core.Jobs;
using Functions.Core.Spend;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Completions;

/// <summary>
/// The poison-queue trigger's work: a message the host gave up on (maxDequeueCount attempts) ends its job as
/// <see cref="JobStatus.Failed"/> with the last error seen, so no accepted job stays unfinished.
/// </summary>
public sealed class PoisonChatHandler(JobTable jobs, BudgetReservations budgets, TimeProvider time, ILogger<PoisonChatHandler> logger)
{
    public async Task HandleAsync(string messageText, CancellationToken cancellationToken)
    {
        if (JobMessage.TryParse(messageText) is not { } message
            || await jobs.GetAsync(message.JobId, cancellationToken) is not { } job)
        {
            CompletionsLog.UnreadableMessage(logger, messageText.Length);
            return;
        }
        if (job.IsTerminal)
        {
            return;
        }

        var last = job.LastError ?? new JobError("processing_failed", "The job could not be processed.");
        var error = new JobError(last.Code, $"Gave up after repeated processing failures ({job.ModelCalls} model calls). {last.Message}");
        await budgets.ReleaseAsync(job, cancellationToken);
        await jobs.UpdateAsync(job.Fail(error, time.GetUtcNow()), cancellationToken);
        CompletionsLog.Poisoned(logger, job.Id, job.ModelCalls, last.Code);
    }
}
