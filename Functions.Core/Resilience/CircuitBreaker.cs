using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Resilience;

/// <summary>
/// After <see cref="ResilienceOptions.CircuitFailureThreshold"/> consecutive transient failures the circuit opens: the
/// shared <see cref="UpstreamGate"/> closes for <see cref="ResilienceOptions.CircuitBreakDuration"/>, so every
/// instance's jobs wait instead of hammering the API. When it reopens, the next call probes: a failure opens it again,
/// a success closes it. Failures are counted per instance; the break is shared.
/// </summary>
public sealed class CircuitBreaker(UpstreamGate gate, IOptions<ResilienceOptions> options, TimeProvider time, ILogger<CircuitBreaker> logger,
    Telemetry.ServerlessTelemetry? telemetry = null)
{
    private int consecutiveFailures;

    public async Task RecordFailureAsync(CancellationToken cancellationToken)
    {
        var failures = Interlocked.Increment(ref consecutiveFailures);
        var settings = options.Value;
        if (failures >= settings.CircuitFailureThreshold)
        {
            await gate.CloseUntilAsync(time.GetUtcNow() + settings.CircuitBreakDuration, "circuit_open", cancellationToken);
            ResilienceLog.CircuitOpened(logger, failures, (long)settings.CircuitBreakDuration.TotalMilliseconds);
            telemetry?.CircuitOpened();
        }
    }

    public void RecordSuccess()
    {
        var failures = Interlocked.Exchange(ref consecutiveFailures, 0);
        if (failures >= options.Value.CircuitFailureThreshold)
        {
            ResilienceLog.CircuitClosed(logger, failures);
        }
    }
}
