using System.Collections.Concurrent;
using System.Diagnostics;
using OpenTelemetry;

namespace Functions.Core.Telemetry;

/// <summary>
/// A span processor that can never hold up a request: ending a span puts it on a queue of at most
/// <c>capacity</c> spans (a full queue drops it and counts it in <c>chat_backend.telemetry.dropped</c>), and one
/// background thread exports batches from it, however slow or dead the exporter is. (The SDK's batch processor is
/// bounded too, but keeps its drop count to itself.)
/// </summary>
public sealed class BoundedExportProcessor : BaseProcessor<Activity>
{
    private const int BatchSize = 512;
    private static readonly TimeSpan ScheduledDelay = TimeSpan.FromSeconds(1);

    private readonly BaseExporter<Activity> exporter;
    private readonly int capacity;
    private readonly Action<int> dropped;
    private readonly ConcurrentQueue<Activity> queue = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly Thread worker;
    private volatile bool stopping;
    private int queued;
    private long accepted;
    private long finished;
    private long droppedCount;

    public BoundedExportProcessor(BaseExporter<Activity> exporter, int capacity, Action<int> dropped)
    {
        this.exporter = exporter;
        this.capacity = capacity;
        this.dropped = dropped;
        worker = new Thread(Run) { IsBackground = true, Name = "Telemetry export: " + exporter.GetType().Name };
        worker.Start();
    }

    /// <summary>Spans dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref droppedCount);

    public override void OnEnd(Activity data)
    {
        if (!data.Recorded || stopping)
        {
            return;
        }
        if (Interlocked.Increment(ref queued) > capacity)
        {
            Interlocked.Decrement(ref queued);
            Interlocked.Increment(ref droppedCount);
            dropped(1);
            return;
        }
        Interlocked.Increment(ref accepted);
        queue.Enqueue(data);
        if (Volatile.Read(ref queued) >= BatchSize)
        {
            wake.Release();
        }
    }

    protected override bool OnForceFlush(int timeoutMilliseconds)
    {
        var target = Interlocked.Read(ref accepted);
        wake.Release();
        return SpinWait.SpinUntil(() => Interlocked.Read(ref finished) >= target, timeoutMilliseconds)
            && exporter.ForceFlush(timeoutMilliseconds);
    }

    protected override bool OnShutdown(int timeoutMilliseconds)
    {
        stopping = true;
        wake.Release();
        var drained = worker.Join(timeoutMilliseconds < 0 ? Timeout.Infinite : timeoutMilliseconds);
        return exporter.Shutdown(timeoutMilliseconds) && drained;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            exporter.Dispose(); // the semaphore is left to the GC: the worker may still be waiting on it
        }
        base.Dispose(disposing);
    }

    private void Run()
    {
        var batch = new Activity[BatchSize];
        while (true)
        {
            wake.Wait(ScheduledDelay);
            int count;
            do
            {
                count = 0;
                while (count < BatchSize && queue.TryDequeue(out var span))
                {
                    batch[count++] = span;
                }
                if (count == 0)
                {
                    break;
                }
                Interlocked.Add(ref queued, -count);
                try
                {
                    exporter.Export(new Batch<Activity>(batch, count));
                }
                catch (Exception)
                {
                    // An exporter that throws loses its batch, never the app: telemetry is best effort.
                }
                Array.Clear(batch, 0, count);
                Interlocked.Add(ref finished, count);
            }
            while (count == BatchSize);
            if (stopping)
            {
                return;
            }
        }
    }
}
