using Azure;
using Functions.Core.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Functions.Core.Storage;

namespace Functions.Core.Cache;

/// <summary>
/// The worker side of the cache: N identical jobs make one model call, across instances. Before calling the model a
/// cacheable job looks for a stored answer (it may have arrived since the job was submitted); failing that it tries to
/// become the key's leader (<see cref="CacheTable.TryLeadAsync"/>). The leader calls the model, stores the answer, then
/// releases its lease. A follower goes back on the queue for <see cref="CacheOptions.FollowerRecheck"/> and, when it
/// returns, finds the answer, or leads itself once the lease was released (leader failed) or expired (leader died):
/// it never waits longer than <see cref="CacheOptions.LeaderLease"/>. Storage trouble makes a job call the model itself.
/// </summary>
public sealed class SingleFlight(
    CacheTable cache,
    CacheEntries entries,
    ICacheSavingsRecorder savings,
    IOptions<CacheOptions> options,
    TimeProvider time,
    ILogger<SingleFlight> logger,
    Telemetry.ServerlessTelemetry? telemetry = null)
{
    /// <summary>Decides whether <paramref name="job"/> is already answered, must wait, or calls the model (see <see cref="Flight"/>).</summary>
    public async Task<Flight> JoinAsync(Job job, CancellationToken cancellationToken)
    {
        if (job.Cache is not { } ticket)
        {
            return new Flight(this, job);
        }
        try
        {
            if (!ticket.UseStored)
            {
                // no-cache: a fresh call whatever happens, but identical requests may wait for it rather than call too.
                return new Flight(this, job, lease: await cache.TryLeadAsync(ticket.Key, job.Id, options.Value.LeaderLease, cancellationToken));
            }
            if (await AnswerFromCacheAsync(job, ticket, cancellationToken) is { } answered)
            {
                return new Flight(this, job, answered: answered);
            }
            if (await cache.TryLeadAsync(ticket.Key, job.Id, options.Value.LeaderLease, cancellationToken) is not { } lease)
            {
                CacheLog.Waiting(logger, job.Id, options.Value.FollowerRecheck.TotalSeconds);
                return new Flight(this, job, recheckAfter: options.Value.FollowerRecheck);
            }
            // The previous leader may have stored its answer between the first look and the lock.
            if (await AnswerFromCacheAsync(job, ticket, cancellationToken) is { } late)
            {
                await cache.ReleaseAsync(ticket.Key, lease, cancellationToken);
                return new Flight(this, job, answered: late);
            }
            return new Flight(this, job, lease: lease);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            CacheLog.Unavailable(logger, job.Id, ex);
            return new Flight(this, job);
        }
    }

    private async Task<Job?> AnswerFromCacheAsync(Job job, CacheTicket ticket, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (await entries.GetAsync(ticket.Key, cancellationToken) is not { } entry || entry.FreshFor(ticket.Ttl, now) is null)
        {
            return null;
        }
        // Its own answer when an earlier attempt stored it but could not record the job's success.
        var own = entry.JobId == job.Id;
        if (!own)
        {
            await savings.TryRecordHitAsync(job.Caller, entry.Result, logger);
            CacheLog.Collapsed(logger, job.Id);
            telemetry?.CacheOutcome(Telemetry.TelemetryNames.CacheOutcomes.Collapsed);
        }
        return job.Succeed(entry.Result, own ? entry.CompletedAt : now) with
        {
            Cache = ticket with { Outcome = own ? CacheOutcome.Stored : CacheOutcome.Collapsed },
        };
    }

    internal async Task<Job> StoreAsync(Job job, CancellationToken cancellationToken)
    {
        if (job is not { Cache: { } ticket, Result: { } result })
        {
            return job;
        }

        // Only complete answers: "length" is cut short, "tool_calls" and "content_filter" carry no answer to repeat.
        var reason = result.FinishReason != "stop" ? $"finish reason {result.FinishReason}"
            : !CacheTable.Fits(result.Content) ? $"{result.Content.Length} characters, too large for a row"
            : null;
        if (reason is null)
        {
            try
            {
                var now = time.GetUtcNow();
                await entries.StoreAsync(new CacheEntry(ticket.Key, job.Id, job.Caller, result, job.CreatedAt, job.CompletedAt ?? now, now,
                    now + ticket.Ttl), cancellationToken);
                CacheLog.Stored(logger, job.Id, (long)ticket.Ttl.TotalSeconds);
                return job with { Cache = ticket with { Outcome = CacheOutcome.Stored } };
            }
            catch (Exception ex) when (StorageFailure.Is(ex))
            {
                CacheLog.Unavailable(logger, job.Id, ex);
                reason = "storage failed";
            }
        }
        CacheLog.NotStored(logger, job.Id, reason);
        return job with { Cache = ticket with { Outcome = CacheOutcome.NotStored } };
    }

    internal async Task ReleaseAsync(Job job, string key, ETag lease)
    {
        try
        {
            await cache.ReleaseAsync(key, lease, CancellationToken.None);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            // Followers wait at most until it expires.
            CacheLog.LeaseNotReleased(logger, job.Id, ex);
        }
    }
}

/// <summary>
/// One job's part in a single flight. <see cref="Answered"/>: the job, succeeded with a stored answer; record it and
/// stop. <see cref="RecheckAfter"/>: another job is calling the model; put the message back for that long. Otherwise
/// call the model and pass the succeeded job through <see cref="StoreAsync"/>. Disposing releases the lease, if held.
/// </summary>
public sealed class Flight : IAsyncDisposable
{
    private readonly SingleFlight owner;
    private readonly Job job;
    private readonly ETag? lease;

    internal Flight(SingleFlight owner, Job job, Job? answered = null, TimeSpan? recheckAfter = null, ETag? lease = null)
    {
        this.owner = owner;
        this.job = job;
        this.lease = lease;
        Answered = answered;
        RecheckAfter = recheckAfter;
    }

    public Job? Answered { get; }
    public TimeSpan? RecheckAfter { get; }
    public bool IsLeader => lease is not null;

    /// <summary>Stores the answer when the job is cacheable and the answer complete; returns the job with the outcome.</summary>
    public Task<Job> StoreAsync(Job succeeded, CancellationToken cancellationToken) => owner.StoreAsync(succeeded, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (lease is { } held && job.Cache is { } ticket)
        {
            await owner.ReleaseAsync(job, ticket.Key, held);
        }
    }
}
