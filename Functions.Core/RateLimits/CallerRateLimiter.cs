using System.Collections.Concurrent;
using Azure;
using Functions.Core.Callers;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.RateLimits;

/// <summary>
/// Per-caller requests and tokens per minute, shared by every instance through one Table Storage row per caller. Every
/// door calls <see cref="AdmitAsync"/> before it queues or calls anything: the request is counted and its worst-case
/// tokens reserved there; <see cref="SettleAsync"/> (from the paid-call recorder) corrects the reservation to the real
/// usage, and <see cref="ReleaseAsync"/> gives it back when no call was paid for, so a streamed call and a queued one
/// count alike.
/// <para>
/// Round trips: the row a caller's last admission on this instance wrote is kept with its ETag, and the next admission
/// writes on top of it directly (one round trip; a 412 means another instance moved it: read and retry). Admissions and
/// corrections of one caller on one instance take turns, so they do not fight over the ETag. A refusal is only ever given on a view
/// read or written within the last second, and refusing writes nothing.
/// </para>
/// </summary>
public sealed class CallerRateLimiter(
    RateLimitStore store,
    WorstCaseTokens worstCase,
    IOptions<RateLimitOptions> options,
    IOptions<CallerOptions> callers,
    TimeProvider time,
    ILogger<CallerRateLimiter> logger)
{
    private const int MaxRounds = 64;
    private const int MaxCachedRows = 10_000;
    private const int SettlementsKept = 64;
    private static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, (CounterRow Row, DateTimeOffset At)> rows = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim[] turns = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <param name="estimatedTokens">The request's worst case (<see cref="WorstCaseTokens"/>).</param>
    public async Task<RateLimitDecision> AdmitAsync(string caller, IReadOnlyCollection<string> roles, int estimatedTokens,
        CancellationToken cancellationToken)
    {
        var limit = LimitFor(caller, roles);
        if (!limit.IsLimited)
        {
            return RateLimitDecision.Unlimited;
        }
        var requests = limit.RequestsPerMinute is { } rpm ? new RateBucket(rpm) : (RateBucket?)null;
        var tokens = limit.TokensPerMinute is { } tpm ? new RateBucket(tpm) : (RateBucket?)null;
        var partition = RateLimitStore.CallerPartition(caller);

        var turn = Turn(partition);
        await turn.WaitAsync(cancellationToken);
        try
        {
            for (var round = 1; ; round++)
            {
                var (row, fresh) = await CurrentAsync(partition, caller, cancellationToken);
                var now = time.GetUtcNow().UtcTicks;
                var (requestTat, requestWait) = requests?.Take(row.RequestTat, now, 1) ?? (row.RequestTat, TimeSpan.Zero);
                var (tokenTat, tokenWait) = tokens?.Take(row.TokenTat, now, estimatedTokens) ?? (row.TokenTat, TimeSpan.Zero);
                if (requestTat is null || tokenTat is null)
                {
                    if (!fresh)
                    {
                        rows.TryRemove(partition, out _); // refuse only on a current view: look again
                        continue;
                    }
                    var refusal = requestTat is null && (tokenTat is not null || requestWait >= tokenWait)
                        ? new RateLimitRefusal(RateLimitNames.Requests, requests!.Value.Limit, 1, requestWait)
                        : new RateLimitRefusal(RateLimitNames.Tokens, tokens!.Value.Limit, estimatedTokens, tokenWait);
                    RateLimitsLog.CallerRefused(logger, caller, refusal.Limit, (long)refusal.RetryAfter.TotalMilliseconds);
                    return new RateLimitDecision(Policies(requests, tokens, row, now), refusal);
                }

                var admitted = row with { RequestTat = requestTat.Value, TokenTat = tokenTat.Value, TokenInterval = tokens?.Interval ?? 0 };
                try
                {
                    admitted = await store.WriteAsync(admitted, cancellationToken);
                    Remember(admitted);
                    return new RateLimitDecision(Policies(requests, tokens, admitted, now), null);
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412 && round < MaxRounds)
                {
                    rows.TryRemove(partition, out _);
                    RateLimitsLog.CallerContention(logger, caller, round);
                }
            }
        }
        finally
        {
            turn.Release();
        }
    }

    /// <summary>
    /// A request that calls no model (opening a job stream, the conversations API): admitted as one request and no
    /// tokens, then <paramref name="answer"/>ed with the limits' headers; refused as 429 with them. The time is read
    /// for the refusal's <c>retryAt</c>.
    /// </summary>
    public async Task<IResult> AdmitRequestAsync(string caller, IReadOnlyCollection<string> roles, Func<Task<IResult>> answer)
    {
        var admission = await AdmitAsync(caller, roles, estimatedTokens: 0, CancellationToken.None);
        return admission.Apply(admission.Admitted ? await answer() : admission.Problem(time.GetUtcNow()));
    }

    /// <summary>
    /// The caller's limits as they stand, for the headers of an answer that admitted nothing (a cache hit, a replay, a
    /// 400); none when storage does not answer, as the answer stands without them.
    /// </summary>
    public async Task<RateLimitDecision> PeekAsync(string caller, IReadOnlyCollection<string> roles, CancellationToken cancellationToken)
    {
        var limit = LimitFor(caller, roles);
        if (!limit.IsLimited)
        {
            return RateLimitDecision.Unlimited;
        }
        try
        {
            var (row, _) = await CurrentAsync(RateLimitStore.CallerPartition(caller), caller, cancellationToken);
            return new RateLimitDecision(Policies(limit.RequestsPerMinute is { } rpm ? new RateBucket(rpm) : null,
                limit.TokensPerMinute is { } tpm ? new RateBucket(tpm) : null, row, time.GetUtcNow().UtcTicks), null);
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            RateLimitsLog.PeekFailed(logger, ex);
            return RateLimitDecision.Unlimited;
        }
    }

    /// <summary>
    /// Corrects the job's token reservation to the real usage of paid call <see cref="Job.ModelCalls"/>: the first paid call
    /// gives back what the worst case held beyond its usage; a later one (after a call that broke off) is charged in full.
    /// A repeat changes nothing. Best effort: a correction lost to a storage fault only keeps the limit stricter for a minute.
    /// </summary>
    public Task SettleAsync(Job job, TokenUsage usage, CancellationToken cancellationToken) =>
        CorrectAsync(job, job.ModelCalls.ToString(System.Globalization.CultureInfo.InvariantCulture),
            usage.InputTokens + usage.OutputTokens, cancellationToken);

    /// <summary>Gives back the job's whole token reservation when no call of it was paid for (it failed, or the cache answered).</summary>
    public Task ReleaseAsync(Job job, CancellationToken cancellationToken) => CorrectAsync(job, "r", actualTokens: null, cancellationToken);

    private async Task CorrectAsync(Job job, string attempt, int? actualTokens, CancellationToken cancellationToken)
    {
        if (!options.Value.AnyTokenLimit)
        {
            return; // nothing was reserved: no storage round trips on the worker's hot path
        }
        var partition = RateLimitStore.CallerPartition(job.Caller);
        var jobKey = RateLimitStore.Hash(BudgetReservations.ReservationId(job))[..12] + ":";
        var estimate = worstCase.For(job.Request);
        var turn = Turn(partition); // corrections take turns with admissions here too, rather than fight over the ETag
        await turn.WaitAsync(cancellationToken);
        try
        {
            for (var round = 1; round <= MaxRounds; round++)
            {
                var (row, _) = await CurrentAsync(partition, job.Caller, cancellationToken);
                if (row.TokenInterval == 0)
                {
                    return; // no token limit when this caller was last admitted
                }
                var settled = row.Settled.Split(',', StringSplitOptions.RemoveEmptyEntries);
                var seenJob = settled.Any(entry => entry.StartsWith(jobKey, StringComparison.Ordinal));
                if (settled.Contains(jobKey + attempt) || (actualTokens is null && seenJob))
                {
                    return; // applied already (a retried write, a redelivery), or a release after the job's paid call
                }
                var refund = actualTokens is { } actual ? (seenJob ? -actual : estimate - actual) : estimate;
                var corrected = row with
                {
                    TokenTat = RateBucket.Refund(row.TokenTat, time.GetUtcNow().UtcTicks, refund, row.TokenInterval),
                    Settled = string.Join(',', settled.Append(jobKey + attempt).TakeLast(SettlementsKept)),
                };
                try
                {
                    Remember(await store.WriteAsync(corrected, cancellationToken));
                    return;
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412)
                {
                    rows.TryRemove(partition, out _);
                }
            }
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            RateLimitsLog.CorrectionLost(logger, job.Id, ex.Message);
        }
        finally
        {
            turn.Release();
        }
    }

    private CallerLimit LimitFor(string caller, IReadOnlyCollection<string> roles) =>
        options.Value.For(caller == callers.Value.AnonymousCallerId, roles);

    /// <returns>The caller's row (a new one if it has none yet) and whether it is current enough to refuse on.</returns>
    private async Task<(CounterRow Row, bool Fresh)> CurrentAsync(string partition, string caller, CancellationToken cancellationToken)
    {
        if (rows.TryGetValue(partition, out var cached))
        {
            return (cached.Row, time.GetUtcNow() - cached.At < FreshFor);
        }
        var row = await store.GetAsync(partition, cancellationToken)
                  ?? new CounterRow(partition, RateLimitStore.Label(caller), 0, 0, 0, "");
        Remember(row);
        return (row, true);
    }

    private void Remember(CounterRow row)
    {
        if (rows.Count >= MaxCachedRows)
        {
            rows.Clear(); // a bound, not a policy: the next admission of each caller reads its row again
        }
        rows[row.Partition] = (row, time.GetUtcNow());
    }

    private SemaphoreSlim Turn(string partition) => turns[(uint)StringComparer.Ordinal.GetHashCode(partition) % turns.Length];

    private static IReadOnlyList<RatePolicy> Policies(RateBucket? requests, RateBucket? tokens, CounterRow row, long now) =>
    [
        .. requests is { } r ? [r.Status(RateLimitNames.Requests, row.RequestTat, now, null)] : Array.Empty<RatePolicy>(),
        .. tokens is { } t ? [t.Status(RateLimitNames.Tokens, row.TokenTat, now, RateLimitNames.TokenUnit)] : Array.Empty<RatePolicy>(),
    ];
}
