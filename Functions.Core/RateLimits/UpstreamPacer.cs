using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Azure;
using Functions.Core.Completions;
using Functions.Core.Requests;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.RateLimits;

/// <summary>No upstream slot yet: <see cref="Wait"/> until one frees (or until the one held for this request is due).</summary>
public sealed record PaceWait(TimeSpan Wait, string Limit);

/// <summary>
/// Paces model calls to each deployment's RPM and TPM (<c>OpenAI:Models</c>), shared by every instance, so that a launch
/// spike queues here instead of collecting the provider's 429s. A call takes a slot first: one request and its
/// worst-case tokens, corrected to the real usage when it returns (<see cref="Settle"/>).
/// <para>
/// The shared counter is one Table Storage row per endpoint and deployment (a <see cref="RateBucket"/> for requests and
/// one for tokens). Every call in the fleet would contend for it, so an instance leases quota in chunks instead: one
/// conditional write takes about <see cref="RateLimitOptions.PacingLease"/> of the model's rate (debited up front, so
/// instances together never exceed the limit), and the calls spend it locally; what a lease does not use goes back at
/// the next renewal. A renewal takes more when more calls are queued behind it here, so a burst costs few round trips. A lease may reach a little into the future (two leases' worth): those slots are handed to waiting
/// requests with the instant each may go, and a request keeps its slot across the wait (it is held for that request
/// object), so waiters never stampede and nobody re-checks storage to find the same slot gone.
/// </para>
/// <para>
/// The provider's <c>x-ratelimit-remaining-*</c> headers (<see cref="Observe"/>) tighten the local view: a lease is cut
/// to what the provider says is left, and the next renewal moves the shared counter to at least the provider's count.
/// </para>
/// </summary>
public sealed class UpstreamPacer(
    RateLimitStore store,
    WorstCaseTokens worstCase,
    IOptions<OpenAIOptions> openAI,
    IOptions<RateLimitOptions> options,
    TimeProvider time,
    ILogger<UpstreamPacer> logger)
{
    private readonly ConcurrentDictionary<string, Lane?> lanes = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<ChatRequest, HeldSlot> held = new();

    private sealed record HeldSlot(long ConformsAt, string Limit);

    /// <param name="holdWithin">The longest wait the door will sit out for a slot held for it; a later slot is not held.</param>
    /// <returns>Null when a slot was taken (call now), else how long until one frees.</returns>
    public async Task<PaceWait?> TakeAsync(ChatRequest request, TimeSpan holdWithin, CancellationToken cancellationToken)
    {
        if (LaneFor(request.Model) is not { } lane)
        {
            return null;
        }
        var now = time.GetUtcNow().UtcTicks;
        if (held.TryGetValue(request, out var slot))
        {
            if (slot.ConformsAt > now)
            {
                return new PaceWait(TimeSpan.FromTicks(slot.ConformsAt - now), slot.Limit);
            }
            held.Remove(request);
            return null;
        }

        var taken = await lane.TakeAsync(worstCase.For(request), holdWithin, cancellationToken);
        now = time.GetUtcNow().UtcTicks;
        if (taken.ConformsAt is { } at && at > now)
        {
            held.AddOrUpdate(request, new HeldSlot(at, taken.Limit));
            return new PaceWait(TimeSpan.FromTicks(at - now), taken.Limit);
        }
        if (taken.ConformsAt is null)
        {
            RateLimitsLog.NoSlot(logger, request.Model, (long)taken.Wait.TotalMilliseconds, taken.Limit);
            return new PaceWait(taken.Wait, taken.Limit);
        }
        return null;
    }

    /// <summary>Corrects a taken slot's tokens to what the call used (null: nothing, it failed before generating). The request stays counted.</summary>
    public void Settle(ChatRequest request, int? usedTokens)
    {
        if (LaneFor(request.Model) is { } lane)
        {
            lane.Refund(worstCase.For(request) - (usedTokens ?? 0));
        }
    }

    /// <summary>The provider's word on what is left of <paramref name="model"/>'s limits, from any response.</summary>
    public void Observe(string model, ProviderLimits? limits)
    {
        if (limits is not null && LaneFor(model) is { } lane)
        {
            lane.Observe(limits, time.GetUtcNow().UtcTicks);
        }
    }

    private Lane? LaneFor(string model) => lanes.GetOrAdd(model, name =>
    {
        var settings = options.Value;
        if (!settings.Pacing || openAI.Value.Model(name) is not { } listed
                             || (listed.RequestsPerMinute is null && listed.TokensPerMinute is null))
        {
            return null;
        }
        var key = listed.PacingKey(openAI.Value.DefaultEndpoint.Url);
        return new Lane(store, time, logger, name, RateLimitStore.ModelPartition(key), RateLimitStore.Label(key),
            listed.RequestsPerMinute is { } rpm ? new RateBucket(rpm) : null,
            listed.TokensPerMinute is { } tpm ? new RateBucket(tpm) : null, settings.PacingLease);
    });

    /// <summary>One deployment's counter as this instance sees it: its lease and the provider's latest word.</summary>
    private sealed class Lane(RateLimitStore store, TimeProvider time, ILogger logger, string model, string partition, string label, RateBucket? requests, RateBucket? tokens,
        TimeSpan leaseLength)
    {
        private const int MaxRounds = 64;

        private readonly SemaphoreSlim turn = new(1, 1);
        private readonly long horizon = 2 * leaseLength.Ticks;
        private CounterRow? row;
        // The leased stretches of the two counters' timelines: the next unit's TAT and the end, and where the token lease began.
        private long requestNext, requestEnd, tokenStart, tokenNext, tokenEnd;
        private long unreturned; // tokens corrected away that the lease could not take back: returned at the next renewal
        private long notBefore;
        private int waiting; // calls queued behind the turn: a renewal leases enough for them too
        private long refunds; // from Settle, applied under the turn
        private long providerRequestTat, providerTokenTat; // the provider's own counters, as its headers imply
        private long providerRemainingRequests = -1, providerRemainingTokens = -1;

        public async Task<(long? ConformsAt, TimeSpan Wait, string Limit)> TakeAsync(int cost, TimeSpan holdWithin, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref waiting);
            try
            {
                await turn.WaitAsync(cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref waiting);
            }
            try
            {
                for (var round = 1; ; round++)
                {
                    var now = time.GetUtcNow().UtcTicks;
                    ApplyRefundsAndProviderWord();
                    if (HasRoom(cost))
                    {
                        var (at, limit) = ConformsAt(cost);
                        if (at - now > holdWithin.Ticks)
                        {
                            return (null, TimeSpan.FromTicks(at - now), limit);
                        }
                        requestNext += requests?.Interval ?? 0;
                        tokenNext += cost * (tokens?.Interval ?? 0);
                        return (at, TimeSpan.Zero, limit);
                    }
                    if (now < notBefore && unreturned == 0) // corrections to give back may make room: renew
                    {
                        return (null, TimeSpan.FromTicks(notBefore - now), LimitOf(cost, now));
                    }
                    // Renewed (look at the new lease) or lost a race (read the counter again): either way, round again.
                    if ((await RenewAsync(cost, now, round, cancellationToken)).Wait is { } wait)
                    {
                        return (null, wait.Wait, wait.Limit);
                    }
                }
            }
            finally
            {
                turn.Release();
            }
        }

        public void Refund(long units)
        {
            if (tokens is not null && units != 0)
            {
                Interlocked.Add(ref refunds, units);
            }
        }

        public void Observe(ProviderLimits limits, long now)
        {
            if (requests is { } r && ProviderLimits.UntilFull(limits.LimitRequests, limits.RemainingRequests, r) is { } requestsFull)
            {
                Max(ref providerRequestTat, now + requestsFull.Ticks);
                Interlocked.Exchange(ref providerRemainingRequests, limits.RemainingRequests!.Value);
            }
            if (tokens is { } t && ProviderLimits.UntilFull(limits.LimitTokens, limits.RemainingTokens, t) is { } tokensFull)
            {
                Max(ref providerTokenTat, now + tokensFull.Ticks);
                Interlocked.Exchange(ref providerRemainingTokens, limits.RemainingTokens!.Value);
            }
        }

        private static void Max(ref long field, long value)
        {
            for (var seen = Volatile.Read(ref field); value > seen; seen = Volatile.Read(ref field))
            {
                if (Interlocked.CompareExchange(ref field, value, seen) == seen)
                {
                    return;
                }
            }
        }

        private bool HasRoom(int cost) =>
            (requests is not { } r || requestNext + r.Interval <= requestEnd)
            && (tokens is not { } t || tokenNext + cost * t.Interval <= tokenEnd);

        /// <summary>When the next call of <paramref name="cost"/> tokens conforms to both leased stretches, and which binds.</summary>
        private (long At, string Limit) ConformsAt(int cost)
        {
            var requestAt = requests is { } r ? requestNext + r.Interval - r.Capacity : long.MinValue;
            var tokenAt = tokens is { } t ? tokenNext + cost * t.Interval - t.Capacity : long.MinValue;
            return requestAt >= tokenAt ? (requestAt, RateLimitNames.Requests) : (tokenAt, RateLimitNames.Tokens);
        }

        private string LimitOf(int cost, long now)
        {
            var requestAt = requests is { } r ? Math.Max(row?.RequestTat ?? 0, now) + r.Interval : long.MinValue;
            var tokenAt = tokens is { } t ? Math.Max(row?.TokenTat ?? 0, now) + cost * t.Interval : long.MinValue;
            return requestAt >= tokenAt ? RateLimitNames.Requests : RateLimitNames.Tokens;
        }

        private void ApplyRefundsAndProviderWord()
        {
            if (tokens is { } t && Interlocked.Exchange(ref refunds, 0) is var refund and not 0)
            {
                // Give the lease back what a call did not use, down to where the lease began; the rest goes back to the
                // shared counter at the next renewal. (A negative refund, a call that used more, is charged the same way.)
                var back = Math.Min(refund, (tokenNext - tokenStart) / t.Interval);
                tokenNext -= back * t.Interval;
                unreturned += refund - back;
            }
            // The provider's count is of now: fewer free now than this lease would let go now means the lease's first
            // slots are not there (another client spent them). Drop just those, by moving the lease's next slot up to
            // the provider's TAT; the lease's later slots are the refill the provider has not reached yet, and stay.
            // (Cutting the lease's end instead threw away every later slot whenever an answer said "0 left", which
            // at the limit is every answer: pacing then ran at half the limit.)
            if (requests is not null && Interlocked.Exchange(ref providerRemainingRequests, -1) is >= 0 and var remaining
                && Volatile.Read(ref providerRequestTat) is var providerNext && providerNext > requestNext)
            {
                requestNext = Math.Min(providerNext, requestEnd);
                RateLimitsLog.ProviderTightened(logger, model, remaining, -1);
            }
            if (tokens is not null && Interlocked.Exchange(ref providerRemainingTokens, -1) is >= 0 and var remainingTokens
                && Volatile.Read(ref providerTokenTat) is var providerTokenNext && providerTokenNext > tokenNext)
            {
                tokenNext = tokenStart = Math.Min(providerTokenNext, tokenEnd); // refunds no longer reach back into what was dropped
                RateLimitsLog.ProviderTightened(logger, model, -1, remainingTokens);
            }
        }

        /// <summary>
        /// One read-modify-write of the shared counter: gives back what the old lease left unused and takes a new one
        /// (about one lease length of the rate, at least this call, never further ahead than the horizon). The lease
        /// changes only once the write is in, so a conflict (another instance moved the counter) loses nothing.
        /// </summary>
        /// <returns>Renewed (look at the new lease), a wait (no room for this call within the horizon), or a conflict (read again).</returns>
        private async Task<(bool Conflict, PaceWait? Wait)> RenewAsync(int cost, long now, int round, CancellationToken cancellationToken)
        {
            var current = row ?? await store.GetAsync(partition, cancellationToken) ?? new CounterRow(partition, label, 0, 0, 0, "");
            var requestTat = requests is { } r
                ? Math.Max(r.Refund(current.RequestTat, now, (requestEnd - requestNext) / r.Interval), Volatile.Read(ref providerRequestTat))
                : current.RequestTat;
            var tokenTat = tokens is { } t
                ? Math.Max(t.Refund(current.TokenTat, now, (tokenEnd - tokenNext) / t.Interval + unreturned), Volatile.Read(ref providerTokenTat))
                : current.TokenTat;

            var requestFrom = Math.Max(requestTat, now);
            var tokenFrom = Math.Max(tokenTat, now);
            var requestAt = requests is { } ri ? requestFrom + ri.Interval - ri.Capacity : long.MinValue;
            var tokenAt = tokens is { } ti ? tokenFrom + cost * ti.Interval - ti.Capacity : long.MinValue;
            var firstAt = Math.Max(requestAt, tokenAt);
            var next = current with { RequestTat = requestTat, TokenTat = tokenTat };
            long leasedRequests = 0, leasedTokens = 0;
            PaceWait? wait = null;
            if (firstAt > now + horizon || (tokens is { } whole && !whole.CanEverFit(cost)))
            {
                // Nothing to lease within the horizon: give back what the old lease left, and come back when there is room.
                wait = new PaceWait(TimeSpan.FromTicks(Math.Max(0, firstAt - now)), requestAt >= tokenAt ? RateLimitNames.Requests : RateLimitNames.Tokens);
            }
            else
            {
                var reach = now + horizon;
                var demand = 1 + Volatile.Read(ref waiting);
                if (requests is { } lr)
                {
                    leasedRequests = Math.Clamp(Math.Max(leaseLength.Ticks / lr.Interval, demand), 1,
                        Math.Max(1, (reach + lr.Capacity - requestFrom) / lr.Interval));
                    next = next with { RequestTat = requestFrom + leasedRequests * lr.Interval };
                }
                if (tokens is { } lt)
                {
                    leasedTokens = Math.Clamp(Math.Max(leaseLength.Ticks / lt.Interval, (long)demand * cost), cost,
                        Math.Max(cost, (reach + lt.Capacity - tokenFrom) / lt.Interval));
                    next = next with { TokenTat = tokenFrom + leasedTokens * lt.Interval };
                }
            }

            if (next.RequestTat != current.RequestTat || next.TokenTat != current.TokenTat || current.ETag == default)
            {
                try
                {
                    row = await store.WriteAsync(next, cancellationToken);
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412 && round < MaxRounds)
                {
                    row = null;
                    return (true, null);
                }
            }
            else
            {
                row = current;
            }
            (requestNext, requestEnd) = (requestFrom, requestFrom + leasedRequests * (requests?.Interval ?? 0));
            (tokenStart, tokenNext, tokenEnd) = (tokenFrom, tokenFrom, tokenFrom + leasedTokens * (tokens?.Interval ?? 0));
            unreturned = 0;
            if (wait is not null)
            {
                notBefore = firstAt - horizon;
            }
            else
            {
                RateLimitsLog.Leased(logger, model, leasedRequests, leasedTokens);
            }
            return (false, wait);
        }
    }
}
