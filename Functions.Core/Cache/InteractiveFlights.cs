using System.Collections.Concurrent;
using Azure;
using Functions.Core.Jobs;
using Functions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Cache;

/// <summary>
/// Single flight for the interactive door, which cannot park a request on the queue as the worker does
/// (<see cref="SingleFlight"/>): identical cacheable requests in flight at once make one model call. On one instance
/// the first leads and the others await its answer in memory; across instances the leader also holds the key's
/// leader row (<see cref="CacheTable.TryLeadAsync"/>), and a request that finds another instance leading polls for
/// the stored answer until that lease ends, then leads itself. Nobody waits longer than <see cref="CacheOptions.LeaderLease"/>.
/// </summary>
public sealed class InteractiveFlights(CacheTable cache, CacheEntries entries, IOptions<CacheOptions> options, TimeProvider time,
    ILogger<InteractiveFlights> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobResult?>> leaders = new(StringComparer.Ordinal);

    public async Task<InteractiveFlight> JoinAsync(CacheTicket ticket, string id, CancellationToken cancellationToken)
    {
        if (!ticket.UseStored)
        {
            return new InteractiveFlight(this, ticket.Key, null, null, null); // no-cache: a fresh call of its own
        }

        var mine = new TaskCompletionSource<JobResult?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var leader = leaders.GetOrAdd(ticket.Key, mine);
        if (leader != mine)
        {
            var answer = await WaitAsync(leader.Task, cancellationToken);
            return answer is not null
                ? new InteractiveFlight(this, ticket.Key, null, null, answer)
                : new InteractiveFlight(this, ticket.Key, null, null, null); // the leader failed: call alone
        }

        try
        {
            // The caller has just missed the cache: try to lead at once (one round trip), look for the answer only while
            // another request leads.
            var deadline = time.GetUtcNow() + options.Value.LeaderLease;
            while (true)
            {
                if (await cache.TryLeadAsync(ticket.Key, id, options.Value.LeaderLease, cancellationToken) is { } lease)
                {
                    return new InteractiveFlight(this, ticket.Key, mine, lease, null);
                }
                if (time.GetUtcNow() > deadline)
                {
                    return new InteractiveFlight(this, ticket.Key, mine, null, null);
                }
                await Task.Delay(PollInterval, time, cancellationToken); // another instance is calling the model
                if (await entries.GetAsync(ticket.Key, cancellationToken) is { } entry && entry.FreshFor(ticket.Ttl, time.GetUtcNow()) is not null)
                {
                    Finish(ticket.Key, mine, entry.Result);
                    return new InteractiveFlight(this, ticket.Key, null, null, entry.Result);
                }
            }
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            CacheLog.Unavailable(logger, id, ex);
            return new InteractiveFlight(this, ticket.Key, mine, null, null);
        }
        catch
        {
            Finish(ticket.Key, mine, null);
            throw;
        }
    }

    private async Task<JobResult?> WaitAsync(Task<JobResult?> leader, CancellationToken cancellationToken)
    {
        try
        {
            return await leader.WaitAsync(options.Value.LeaderLease, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    internal void Finish(string key, TaskCompletionSource<JobResult?> leader, JobResult? answer)
    {
        leader.TrySetResult(answer);
        leaders.TryRemove(new KeyValuePair<string, TaskCompletionSource<JobResult?>>(key, leader));
    }

    internal async Task ReleaseAsync(string key, ETag lease)
    {
        try
        {
            await cache.ReleaseAsync(key, lease, CancellationToken.None);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            CacheLog.LeaseNotReleased(logger, key, ex); // followers elsewhere wait at most until it expires
        }
    }
}

/// <summary>
/// One request's part in an interactive single flight: <see cref="Answered"/> by an identical request's call, or the
/// leader, which hands its answer to the waiting requests with <see cref="Complete"/> (after storing it). Disposing
/// wakes any waiters that are still waiting (they then call alone) and gives back the leader row.
/// </summary>
public sealed class InteractiveFlight : IAsyncDisposable
{
    private readonly InteractiveFlights owner;
    private readonly string key;
    private readonly TaskCompletionSource<JobResult?>? leader;
    private readonly ETag? lease;

    internal InteractiveFlight(InteractiveFlights owner, string key, TaskCompletionSource<JobResult?>? leader, ETag? lease, JobResult? answered)
    {
        this.owner = owner;
        this.key = key;
        this.leader = leader;
        this.lease = lease;
        Answered = answered;
    }

    public JobResult? Answered { get; }

    public void Complete(JobResult answer)
    {
        if (leader is not null)
        {
            owner.Finish(key, leader, answer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (leader is not null)
        {
            owner.Finish(key, leader, null);
        }
        if (lease is { } held)
        {
            await owner.ReleaseAsync(key, held);
        }
    }
}
