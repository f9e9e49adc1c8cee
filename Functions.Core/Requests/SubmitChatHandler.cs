using Azure;
using Functions.Core.Callers;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Requests;

/// <summary><c>POST /api/chat</c>: validate, reserve its worst-case cost, record the job, queue it, answer 202 with where to poll.</summary>
public sealed class SubmitChatHandler(
    CallerResolver callers,
    ChatRequestReader reader,
    BudgetReservations budgets,
    JobTable jobs,
    JobQueue queue,
    TimeProvider time,
    ILogger<SubmitChatHandler> logger)
{
    public async Task<IResult> HandleAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        if (callers.Resolve(http) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }

        var (request, problem) = await reader.ReadAsync(http, cancellationToken);
        if (request is null)
        {
            return problem!;
        }

        var job = new Job(JobIds.New(time), caller, JobStatus.Queued, request, time.GetUtcNow());
        try
        {
            if (await budgets.ReserveAsync(job, cancellationToken) is { } exceeded)
            {
                return SpendProblems.BudgetExceeded(exceeded, time.GetUtcNow());
            }
            job = await jobs.AddAsync(job, cancellationToken);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            RequestsLog.StorageFailed(logger, ex);
            await TryReleaseAsync(job);
            return ApiProblems.StorageUnavailable();
        }

        try
        {
            await queue.EnqueueAsync(job.Id, cancellationToken);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            // The row exists but no worker will ever see it: close it so no accepted-looking job is left hanging.
            RequestsLog.StorageFailed(logger, ex);
            await TryCloseUnqueuedJobAsync(job);
            await TryReleaseAsync(job);
            return ApiProblems.StorageUnavailable();
        }

        RequestsLog.Accepted(logger, job.Id, caller, request.Model, request.Messages.Count);
        var statusUrl = JobRoutes.StatusUrl(job.Id);
        return new WithHeadersResult(
            TypedResults.Accepted(statusUrl, new AcceptedJobView(job.Id, job.Status.ToString(), statusUrl)),
            new Dictionary<string, string> { [HeaderNames.RetryAfter] = GetChatHandler.PollAfterSeconds });
    }

    private async Task TryCloseUnqueuedJobAsync(Job job)
    {
        try
        {
            await jobs.UpdateAsync(job.Fail(new JobError("enqueue_failed", "The job could not be queued."), time.GetUtcNow()),
                CancellationToken.None);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            RequestsLog.StorageFailed(logger, ex);
        }
    }

    private async Task TryReleaseAsync(Job job)
    {
        try
        {
            await budgets.ReleaseAsync(job, CancellationToken.None);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            // The reservation lapses with its window; until then it only makes the budget stricter.
            RequestsLog.StorageFailed(logger, ex);
        }
    }

    private static bool IsStorageFailure(Exception ex) =>
        ex is RequestFailedException or AggregateException or HttpRequestException or TimeoutException;
}
