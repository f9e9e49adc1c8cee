using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Functions.Core.Cache;

/// <summary>
/// The stored answers, in two levels: this instance's memory in front of the cache table. A hit in memory costs no
/// storage round trip. An entry stays in memory at most <see cref="CacheOptions.LocalTtl"/> and never past its own
/// expiry, so memory can only serve what the table would (a newer answer stored by another instance for the same key
/// is seen here within that time), and <see cref="CacheOptions.LocalMaxMegabytes"/> bounds what it holds.
/// </summary>
public sealed class CacheEntries : IDisposable
{
    private readonly CacheTable table;
    private readonly TimeProvider time;
    private readonly TimeSpan localTtl;
    private readonly MemoryCache? local;

    public CacheEntries(CacheTable table, IOptions<CacheOptions> options, TimeProvider time)
    {
        this.table = table;
        this.time = time;
        localTtl = options.Value.LocalTtl;
        local = localTtl > TimeSpan.Zero && options.Value.LocalMaxMegabytes > 0
            ? new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.LocalMaxMegabytes * 1024L * 1024 })
            : null;
    }

    public async Task<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (local?.Get<Remembered>(key) is { } remembered && remembered.Until > time.GetUtcNow())
        {
            return remembered.Entry;
        }
        var entry = await table.GetAsync(key, cancellationToken);
        if (entry is not null)
        {
            Remember(entry);
        }
        return entry;
    }

    /// <returns>False when the answer is too large to store.</returns>
    public async Task<bool> StoreAsync(CacheEntry entry, CancellationToken cancellationToken)
    {
        if (!await table.StoreAsync(entry, cancellationToken))
        {
            return false;
        }
        Remember(entry);
        return true;
    }

    private void Remember(CacheEntry entry)
    {
        if (local is null)
        {
            return;
        }
        var until = time.GetUtcNow() + localTtl;
        local.Set(entry.Key, new Remembered(entry, until < entry.ExpiresAt ? until : entry.ExpiresAt), new MemoryCacheEntryOptions
        {
            AbsoluteExpirationRelativeToNow = localTtl, // eviction; freshness is checked against the TimeProvider above
            // UTF-16 content dominates an entry's footprint.
            Size = 2L * entry.Result.Content.Length + 1024,
        });
    }

    public void Dispose() => local?.Dispose();

    private sealed record Remembered(CacheEntry Entry, DateTimeOffset Until);
}
