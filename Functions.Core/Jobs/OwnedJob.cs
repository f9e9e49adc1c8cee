using Functions.Core.Http;
using Functions.Core.Storage;
using Microsoft.AspNetCore.Http;

namespace Functions.Core.Jobs;

/// <summary>
/// The job a request names, as its caller may see it. A malformed id, an unknown one and another caller's job all
/// answer 404 alike, so ids cannot be probed; storage trouble answers 503.
/// </summary>
public static class OwnedJob
{
    /// <param name="caller">The owner the job must have, or null when the owner is checked afterwards (a stream URL's token).</param>
    public static async Task<(Job? Job, IResult? Problem)> ReadAsync(JobTable jobs, string id, string? caller, CancellationToken cancellationToken)
    {
        Job? job;
        try
        {
            job = JobIds.IsWellFormed(id) ? await jobs.GetAsync(id, cancellationToken) : null;
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            return (null, ApiProblems.StorageUnavailable());
        }
        return job is null || (caller is not null && job.Caller != caller) ? (null, ApiProblems.JobNotFound()) : (job, null);
    }
}
