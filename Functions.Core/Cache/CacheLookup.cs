using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Functions.Core.Storage;

namespace Functions.Core.Cache;

/// <summary>What the cache made of a submitted request: a hit to answer at once, or the ticket the job carries.</summary>
public sealed record CacheLookupResult(CacheTicket? Ticket, IResult? Hit = null)
{
    /// <summary>The <c>Cache-Status</c> header for the 202 when there was no hit.</summary>
    public string Status => Ticket is null ? CacheStatus.Bypass : CacheStatus.Of(Ticket);
}

/// <summary>
/// The submit side of the cache. A hit answers <c>200 OK</c> with the finished job's view, with no job to process, no
/// queue message and no model call. Its id is the job that produced the answer when the caller may read that job (always
/// so in caller scope); in shared scope another caller's answer is copied into a new, already succeeded job of this
/// caller's, so <c>GET /api/chat/{id}</c> answers for every id a hit returns and never shows another caller's job.
/// </summary>
public sealed class CacheLookup(
    CacheEntries cache,
    JobTable jobs,
    ICacheSavingsRecorder savings,
    PriceTable prices,
    IOptions<CacheOptions> options,
    TimeProvider time,
    ILogger<CacheLookup> logger)
{
    /// <summary>
    /// The ticket alone, serving no hit: for a submit with an Idempotency-Key, which must answer with its own job. The
    /// worker's single flight still answers that job from a stored answer without calling the model.
    /// </summary>
    public CacheLookupResult TicketOnly(string caller, ChatRequest request, HttpRequest http) =>
        new(CachePolicy.Decide(http.Headers.CacheControl, request, caller, options.Value));

    public async Task<CacheLookupResult> LookupAsync(string caller, ChatRequest request, HttpRequest http,
        CancellationToken cancellationToken)
    {
        var (ticket, found) = await FindAsync(caller, request, http, cancellationToken);
        if (found is not { } hit)
        {
            return new CacheLookupResult(ticket);
        }

        try
        {
            var now = time.GetUtcNow();
            var entry = hit.Entry;
            var job = entry.Caller == caller
                ? new Job(entry.JobId, caller, JobStatus.Succeeded, request, entry.CreatedAt, CompletedAt: entry.CompletedAt, Result: entry.Result)
                : await jobs.AddAsync(new Job(JobIds.New(time), caller, JobStatus.Queued, request, now,
                    Cache: ticket! with { Outcome = CacheOutcome.Hit }).Succeed(entry.Result, now), cancellationToken);
            CacheLog.Hit(logger, Telemetry.CallerHash.Of(caller), job.Id);
            await RecordSavingAsync(caller, hit);
            return new CacheLookupResult(ticket, new WithHeadersResult(TypedResults.Ok(JobView.From(job, prices)), new Dictionary<string, string>
            {
                [CacheStatus.HeaderName] = CacheStatus.Hit(hit.FreshFor),
                [HeaderNames.Age] = hit.AgeHeader,
            }));
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            CacheLog.LookupFailed(logger, ex);
            return new CacheLookupResult(ticket);
        }
    }

    /// <summary>
    /// The ticket, and a fresh stored answer when there is one: the part of a lookup every door shares. Storage trouble
    /// is a miss: the cache never fails a request. A door that answers with the hit records its saving
    /// (<see cref="RecordSavingAsync"/>) once the answer is certain.
    /// </summary>
    public async Task<(CacheTicket? Ticket, CacheHit? Hit)> FindAsync(string caller, ChatRequest request, HttpRequest http,
        CancellationToken cancellationToken)
    {
        var ticket = TicketOnly(caller, request, http).Ticket;
        if (ticket is not { UseStored: true })
        {
            return (ticket, null);
        }
        try
        {
            var now = time.GetUtcNow();
            if (await cache.GetAsync(ticket.Key, cancellationToken) is not { } entry || entry.FreshFor(ticket.Ttl, now) is not { } ttl)
            {
                return (ticket, null);
            }
            return (ticket, new CacheHit(entry, ttl, now - entry.StoredAt));
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            CacheLog.LookupFailed(logger, ex);
            return (ticket, null);
        }
    }

    /// <summary>The model call a hit spared, for the spend report (off the response path, never failing it).</summary>
    public Task RecordSavingAsync(string caller, CacheHit hit) => savings.TryRecordHitAsync(caller, hit.Entry.Result, logger);
}

/// <summary>A stored answer fresh enough for the request: it may be served for <see cref="FreshFor"/> more.</summary>
public sealed record CacheHit(CacheEntry Entry, TimeSpan FreshFor, TimeSpan Age)
{
    /// <summary>The HTTP <c>Age</c> header: whole seconds since the answer was stored.</summary>
    public string AgeHeader => $"{(long)Math.Max(0, Age.TotalSeconds)}";
}
