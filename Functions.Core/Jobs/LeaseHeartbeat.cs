using Azure;
using Functions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Jobs;

/// <summary>
/// Keeps a held job's lease alive while its model call runs: every <c>Resilience:LeaseHeartbeat</c> the lease is
/// extended to a full <c>Resilience:ProcessingLease</c> from now, by the row's ETag. The lease can therefore be short
/// (tens of seconds): a worker that dies stops renewing, and the job sweeper takes the job over once the lease lapses.
/// A renewal that finds the row changed means another worker owns the job now: <see cref="Lost"/> is cancelled (the
/// model call stops) and <see cref="StopAsync"/> returns null, so a worker that lost its lease never records a result; it
/// records only what its cancelled call had generated, as it was paid for.
/// </summary>
public sealed class LeaseHeartbeat : IAsyncDisposable
{
    private readonly JobTable jobs;
    private readonly TimeSpan interval;
    private readonly TimeSpan lease;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private readonly CancellationTokenSource lost = new();
    private readonly Task beating;
    private Job current;

    internal LeaseHeartbeat(Job held, JobTable jobs, TimeSpan interval, TimeSpan lease, TimeProvider time, ILogger logger)
    {
        current = held;
        this.jobs = jobs;
        this.interval = interval;
        this.lease = lease;
        this.time = time;
        this.logger = logger;
        beating = Task.Run(BeatAsync);
    }

    /// <summary>Cancelled when another worker has taken the job over.</summary>
    public CancellationToken Lost => lost.Token;

    public bool IsLost => lost.IsCancellationRequested;

    /// <summary>
    /// Stops renewing, then confirms the lease one last time (extending it to cover the recording that follows).
    /// </summary>
    /// <returns>The job as this worker now holds it (its current ETag), or null when the lease was lost.</returns>
    public async Task<Job?> StopAsync()
    {
        await stopping.CancelAsync();
        await beating;
        return IsLost ? null : await RenewAsync(CancellationToken.None) ? current : null;
    }

    private async Task BeatAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (!await RenewAsync(stopping.Token))
            {
                return;
            }
        }
    }

    /// <returns>False when the lease is lost (another worker changed the job); a storage fault keeps it (the next beat retries).</returns>
    private async Task<bool> RenewAsync(CancellationToken cancellationToken)
    {
        try
        {
            current = await jobs.UpdateAsync(current with { LeaseUntil = time.GetUtcNow() + lease }, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            JobsLog.LeaseLost(logger, current.Id);
            await lost.CancelAsync();
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return true; // stopping mid-renewal; StopAsync confirms once more
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            // The lease still runs for a while; lost only if the next beats fail until it lapses and another worker takes it.
            JobsLog.LeaseRenewalFailed(logger, current.Id, ex.Message);
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!stopping.IsCancellationRequested)
        {
            await stopping.CancelAsync();
            await beating;
        }
        stopping.Dispose();
        lost.Dispose();
    }
}
