using Functions.Core.Jobs;

namespace Functions.Core.Cache;

/// <summary>
/// The last resort of a route with stale-if-error (<c>Routing:Routes:{n}:StaleIfError</c>): when every candidate model
/// failed, an expired stored answer for the same request, marked <see cref="JobResult.Stale"/>. Both doors ask it.
/// </summary>
public sealed class StaleAnswers(CacheTable table)
{
    /// <returns>The job answered stale (its cache outcome <see cref="CacheOutcome.Stale"/>), or null when the route did not opt in or nothing is kept.</returns>
    public async Task<(Job Job, JobResult Answer)?> FindAsync(Job job, CancellationToken cancellationToken)
    {
        if (job.Request.Route is not { StaleIfError: true } || job.Cache is not { } ticket)
        {
            return null;
        }
        try
        {
            return await table.GetStaleAsync(ticket.Key, cancellationToken) is { } entry
                ? (job with { Cache = ticket with { Outcome = CacheOutcome.Stale } }, entry.Result with { Stale = true })
                : null;
        }
        catch (Exception ex) when (Storage.StorageFailure.Is(ex))
        {
            return null; // the failure stands as it was
        }
    }
}
