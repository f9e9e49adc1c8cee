using Functions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Cache;

/// <summary>The sweep timer's work (<see cref="CacheOptions.SweepSchedule"/>): expired rows removed, so the table stays as small as its live entries.</summary>
public sealed class CacheSweepHandler(CacheTable cache, ILogger<CacheSweepHandler> logger) : ISweep
{
    public async Task HandleAsync(CancellationToken cancellationToken) =>
        CacheLog.Swept(logger, await cache.RemoveExpiredAsync(cancellationToken));
}
