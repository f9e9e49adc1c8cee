using Microsoft.Extensions.Options;

namespace Functions.Core.Resilience;

/// <summary>
/// The one place that decides how long to wait before the next model call. Exponential back-off with full jitter
/// (so instances that failed together do not retry together), never shorter than what the server asked for.
/// </summary>
public sealed class RetryPolicy(IOptions<ResilienceOptions> options, Random random)
{
    /// <param name="retry">1 for the first retry, 2 for the second, …</param>
    public TimeSpan Backoff(int retry, TimeSpan? serverHint)
    {
        var settings = options.Value;
        var ceiling = Math.Min(settings.MaxBackoff.Ticks, settings.BaseBackoff.Ticks * Math.Pow(2, Math.Max(0, retry - 1)));
        var jittered = TimeSpan.FromTicks((long)(random.NextDouble() * ceiling));
        return serverHint is { } hint && hint > jittered ? hint : jittered;
    }

    /// <summary>A random extra wait (under one base back-off) after a shared gate reopens, so that the instances and
    /// jobs that waited on it together do not all call the model in the same instant.</summary>
    public TimeSpan Spread() => TimeSpan.FromTicks((long)(random.NextDouble() * options.Value.BaseBackoff.Ticks));
}
