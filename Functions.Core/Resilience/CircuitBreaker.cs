using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Resilience;

/// <summary>
/// After <see cref="ResilienceOptions.CircuitFailureThreshold"/> consecutive transient failures the circuit opens: the
/// shared <see cref="UpstreamGate"/> closes for <see cref="ResilienceOptions.CircuitBreakDuration"/>, so every
/// instance's jobs wait instead of hammering the API. When it reopens, the next call probes: a failure opens it again,
/// a success closes it. Failures are counted per instance and per gate key (endpoint and deployment: one provider's
/// failures never open another's circuit); the break is shared.
/// </summary>
public sealed class CircuitBreaker(UpstreamGate gate, IOptions<ResilienceOptions> options, TimeProvider time, ILogger<CircuitBreaker> logger,
    Telemetry.ServerlessTelemetry? telemetry = null)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StrongBox<int>> consecutiveFailures = new(StringComparer.Ordinal);

    public Task RecordFailureAsync(CancellationToken cancellationToken) => RecordFailureAsync(UpstreamGate.DefaultKey, cancellationToken);

    public void RecordSuccess() => RecordSuccess(UpstreamGate.DefaultKey);

    public async Task RecordFailureAsync(string key, CancellationToken cancellationToken)
    {
        var failures = Interlocked.Increment(ref Counter(key).Value);
        var settings = options.Value;
        if (failures >= settings.CircuitFailureThreshold)
        {
            await gate.CloseUntilAsync(key, time.GetUtcNow() + settings.CircuitBreakDuration, "circuit_open", cancellationToken);
            ResilienceLog.CircuitOpened(logger, failures, (long)settings.CircuitBreakDuration.TotalMilliseconds);
            telemetry?.CircuitOpened();
        }
    }

    public void RecordSuccess(string key)
    {
        var failures = Interlocked.Exchange(ref Counter(key).Value, 0);
        if (failures >= options.Value.CircuitFailureThreshold)
        {
            ResilienceLog.CircuitClosed(logger, failures);
        }
    }

    private StrongBox<int> Counter(string key) => consecutiveFailures.GetOrAdd(key, _ => new StrongBox<int>());
}
