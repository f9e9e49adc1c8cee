using System.Threading.Channels;
using Functions.Core.Completions;
using Functions.Core.Storage;
using Functions.Core.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// The worker's side of a job's stream: each model call (attempt) appends its deltas to the job's log in Table Storage
/// (<see cref="JobStreamTable"/>), so any instance can serve the stream. An attempt after one that wrote text starts
/// with a restart marker, so a stream never mixes two attempts' text.
/// </summary>
public sealed class JobStreamWriter(JobStreamTable table, TokenCounter tokens, IOptions<JobStreamOptions> options, TimeProvider time,
    ILogger<JobStreamWriter> logger)
{
    /// <summary>
    /// Opens the log for model call <see cref="Job.ModelCalls"/> of <paramref name="job"/> (the delivery holds the job):
    /// a first call starts an empty log; a later one continues the numbering after what earlier calls wrote, on this
    /// instance or another, behind a restart marker.
    /// </summary>
    public async Task<StreamAttempt> BeginAsync(Job job, CancellationToken cancellationToken)
    {
        long after = 0;
        if (job.ModelCalls > 1)
        {
            (after, var endsWithRestart) = await table.TailAsync(job.Id, cancellationToken);
            if (after > 0 && !endsWithRestart)
            {
                await table.WriteAsync(job.Id, StreamEntry.Restart(after, job.ModelCalls), cancellationToken);
                JobStreamsLog.Restarted(logger, job.Id, job.ModelCalls, after);
            }
        }
        return new StreamAttempt(job.Id, job.Request.Model, after, table, tokens, options.Value, time, logger);
    }
}

/// <summary>
/// One model call's deltas on their way to the log. <see cref="AppendAsync"/> never waits for storage: a pump writes
/// behind it, the first delta at once (it is what a reader waits for), then a batch whenever
/// <see cref="JobStreamOptions.FlushTokens"/> tokens are held or the oldest held delta is
/// <see cref="JobStreamOptions.FlushInterval"/> old, whichever comes first. A write that fails is kept and written
/// again, in order, before the next batch, so the log never has a gap; what is still unwritten at the end is left to
/// the job's result, from which a reader completes the stream. Storage trouble never fails the model call.
/// </summary>
public sealed class StreamAttempt : IAsyncDisposable
{
    private const int FinalWriteAttempts = 3;

    private readonly string jobId;
    private readonly string model;
    private readonly JobStreamTable table;
    private readonly TokenCounter tokens;
    private readonly JobStreamOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Channel<(string Text, int Tokens, long ArrivedAt)> deltas =
        Channel.CreateUnbounded<(string, int, long)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Queue<StreamEntry> unwritten = new();
    private readonly Task pump;
    private long after;

    internal StreamAttempt(string jobId, string model, long after, JobStreamTable table, TokenCounter tokens, JobStreamOptions options,
        TimeProvider time, ILogger logger)
    {
        this.jobId = jobId;
        this.model = model;
        this.after = after;
        this.table = table;
        this.tokens = tokens;
        this.options = options;
        this.time = time;
        this.logger = logger;
        pump = Task.Run(PumpAsync);
    }

    /// <summary>Takes one update of the model's stream (its text, if any); the shape <see cref="ModelCaller.StreamAsync"/> calls.</summary>
    public ValueTask AppendAsync(ChatDelta delta, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(delta.Content))
        {
            deltas.Writer.TryWrite((delta.Content, tokens.CountText(model, delta.Content), time.GetTimestamp()));
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Writes what is still held (retrying a failed write a little) before the job's outcome is recorded.</summary>
    public async Task CompleteAsync()
    {
        deltas.Writer.TryComplete();
        await pump;
    }

    public async ValueTask DisposeAsync() => await CompleteAsync();

    private async Task PumpAsync()
    {
        var reader = deltas.Reader;
        var first = true;
        while (await reader.WaitToReadAsync())
        {
            var batch = new List<string>();
            var batchTokens = 0;
            long oldest = 0;
            Drain();
            if (!first)
            {
                var wait = options.FlushInterval - time.GetElapsedTime(oldest);
                using var window = new CancellationTokenSource(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time);
                while (batchTokens < options.FlushTokens)
                {
                    try
                    {
                        if (!await reader.WaitToReadAsync(window.Token))
                        {
                            break; // the call is over: write what is held now
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        break; // the oldest held delta has waited long enough
                    }
                    Drain();
                }
            }
            first = false;
            unwritten.Enqueue(new StreamEntry(after, batch));
            after += batch.Count;
            await WriteUnwrittenAsync();

            void Drain()
            {
                while (reader.TryRead(out var delta))
                {
                    oldest = batch.Count == 0 ? delta.ArrivedAt : oldest;
                    batch.Add(delta.Text);
                    batchTokens += delta.Tokens;
                }
            }
        }
        for (var attempt = 1; unwritten.Count > 0 && attempt <= FinalWriteAttempts; attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), time);
            await WriteUnwrittenAsync();
        }
        if (unwritten.Count > 0)
        {
            JobStreamsLog.Unwritten(logger, jobId, unwritten.Sum(entry => entry.Deltas.Count));
        }
    }

    private async Task WriteUnwrittenAsync()
    {
        while (unwritten.TryPeek(out var entry))
        {
            try
            {
                // Not the call's token: a write under way finishes even while the host stops (rows are immutable, so a
                // repeat writes the same row).
                await table.WriteAsync(jobId, entry, CancellationToken.None);
            }
            catch (Exception ex) when (StorageFailure.Is(ex))
            {
                JobStreamsLog.WriteFailed(logger, jobId, entry.Last, ex);
                return;
            }
            unwritten.Dequeue();
        }
    }
}
