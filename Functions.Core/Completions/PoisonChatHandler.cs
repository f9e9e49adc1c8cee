using Azure;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Completions;

/// <summary>
/// The poison-queue trigger's work: a message the host gave up on (maxDequeueCount attempts) ends its job as
/// <see cref="JobStatus.Failed"/> with the last error seen, so no accepted job stays unfinished. It must not fail
/// itself (its own poison queue has no reader), so a concurrent change to the job is read again, not thrown.
/// </summary>
public sealed class PoisonChatHandler(JobTable jobs, BudgetReservations budgets, RateLimits.CallerRateLimiter rateLimits,
    Conversations.ConversationTurns conversations, TimeProvider time, Telemetry.ServerlessTelemetry telemetry, ILogger<PoisonChatHandler> logger)
{
    private const int MaxRounds = 5;

    public async Task HandleAsync(string messageText, CancellationToken cancellationToken)
    {
        if (JobMessage.TryParse(messageText) is not { } message)
        {
            CompletionsLog.UnreadableMessage(logger, messageText.Length);
            return;
        }
        using var span = telemetry.StartPoison(message);

        for (var round = 1; round <= MaxRounds; round++)
        {
            var job = await jobs.GetAsync(message.JobId, cancellationToken);
            if (job is null || job.IsTerminal)
            {
                return;
            }
            if (job.Status == JobStatus.Running && job.LeaseUntil > time.GetUtcNow())
            {
                // Another delivery is working on it right now and will finish it (or, if it dies, its message returns).
                CompletionsLog.HeldElsewhere(logger, job.Id, job.LeaseUntil.Value);
                return;
            }

            // Release first (it is idempotent): were it to fail after the job is Failed, the retried message would find
            // the job finished and the hold would stay until its window ends.
            await budgets.ReleaseAsync(job, cancellationToken);
            await rateLimits.ReleaseAsync(job, cancellationToken);
            await conversations.ReleaseAsync(job);
            var last = job.LastError ?? new JobError("processing_failed", "The job could not be processed.");
            var error = new JobError(last.Code, $"Gave up after repeated processing failures ({job.ModelCalls} model calls). {last.Message}");
            try
            {
                await jobs.UpdateAsync(job.Fail(error, time.GetUtcNow()), cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 412 && round < MaxRounds)
            {
                continue; // changed under us: look again
            }
            CompletionsLog.Poisoned(logger, job.Id, job.ModelCalls, last.Code);
            return;
        }
    }
}
