using System.Threading.Channels;
using Functions.Core.Cache;
using Functions.Core.Jobs;
using Functions.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Spend;

/// <summary>
/// Records what each cache hit saved in the spend ledger, off the response path: a hit only queues its saving in
/// memory, and a background loop writes the queue in batches (one transaction per hundred) every
/// <see cref="CacheOptions.SavingsFlushInterval"/>. A storage fault is retried; stopping the host drains the queue
/// first, so a clean shutdown loses nothing (a crash loses at most one interval's savings, which are reporting, not
/// spend: no budget depends on them).
/// </summary>
public sealed class BatchedCacheSavingsRecorder(SpendLedger ledger, IOptions<CacheOptions> options, TimeProvider time,
    ILogger<BatchedCacheSavingsRecorder> logger) : BackgroundService, ICacheSavingsRecorder
{
    private const int MaxAttempts = 5;
    private readonly Channel<CacheSaving> pending = Channel.CreateUnbounded<CacheSaving>(new UnboundedChannelOptions { SingleReader = true });

    public Task RecordHitAsync(string caller, string model, TokenUsage usage, CancellationToken cancellationToken)
    {
        if (!pending.Writer.TryWrite(new CacheSaving(Guid.NewGuid().ToString("N"), caller, model, usage, time.GetUtcNow())))
        {
            SpendLog.SavingDropped(logger, Telemetry.CallerHash.Of(caller)); // only after shutdown began
        }
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<CacheSaving>();
        while (await pending.Reader.WaitToReadAsync(CancellationToken.None))
        {
            try
            {
                await Task.Delay(options.Value.SavingsFlushInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                // Stopping: write what is queued now.
            }
            while (pending.Reader.TryRead(out var saving))
            {
                batch.Add(saving);
            }
            await WriteAsync(batch);
            batch.Clear();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private async Task WriteAsync(IReadOnlyList<CacheSaving> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ledger.RecordSavingsAsync(batch);
                return;
            }
            catch (Exception ex) when (StorageFailure.Is(ex))
            {
                if (attempt == MaxAttempts)
                {
                    SpendLog.SavingsNotRecorded(logger, batch.Count, ex);
                    return;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt * attempt), time);
            }
        }
    }
}
