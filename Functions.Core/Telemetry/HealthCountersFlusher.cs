using Functions.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Telemetry;

/// <summary>
/// Writes this instance's changed <see cref="HealthCounters"/> minutes to <see cref="HealthCountersTable"/> every
/// <see cref="Alerts.OperationalAlertOptions.FlushInterval"/>, and once more on shutdown. It runs on every instance
/// (a timer trigger would run on one only). A storage fault costs a flush, never a request: the minute stays changed
/// and goes out with the next.
/// </summary>
public sealed class HealthCountersFlusher(
    HealthCounters counters,
    HealthCountersTable table,
    IOptions<Alerts.OperationalAlertOptions> options,
    TimeProvider time,
    ILogger<HealthCountersFlusher> logger) : BackgroundService
{
    private readonly SemaphoreSlim flushing = new(1, 1);

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await flushing.WaitAsync(cancellationToken);
        try
        {
            foreach (var (minute, counts) in counters.TakeChanged())
            {
                try
                {
                    await table.UpsertAsync(counters.Instance, minute, counts, cancellationToken);
                }
                catch (Exception ex) when (StorageFailure.Is(ex))
                {
                    counters.Requeue(minute, counts);
                    TelemetryLog.HealthFlushFailed(logger, ex);
                }
            }
        }
        finally
        {
            flushing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the last flush is StopAsync's.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (StorageFailure.Is(ex) || ex is OperationCanceledException)
        {
            TelemetryLog.HealthFlushFailed(logger, ex);
        }
    }
}
